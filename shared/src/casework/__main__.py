from casework.cli import app

app()
