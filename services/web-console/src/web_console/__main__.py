from web_console.cli import app

app()
