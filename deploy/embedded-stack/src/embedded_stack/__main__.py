from embedded_stack.cli import app

app()
