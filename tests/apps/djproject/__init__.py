"""Django test project, served by gunicorn (``djproject.wsgi``) and uvicorn (``djproject.asgi``)."""
