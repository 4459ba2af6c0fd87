"""A Django project instrumented with msatrace: `init()` in settings, one line in MIDDLEWARE.

Run it (from the repository root, with `pip install 'msatrace[django]' uvicorn`), under ASGI:

    $ uvicorn --app-dir examples/django_project mysite.asgi:application --port 8000

or under WSGI: `gunicorn --chdir examples/django_project -b 127.0.0.1:8000 mysite.wsgi`.

Then `curl -i localhost:8000/orders/42/`: the response carries `X-Trace-ID`, and every JSON line
the request wrote (the view's, the access line, Django's own) carries that `trace_id`. Try
`/orders/7/` (404), `/slow/` (an async view), `/boom/` (an unhandled exception: 500, still with
`X-Trace-ID`, logged once).
"""
