"""inventory: stock levels (Django under gunicorn). See settings.py for the msatrace lines."""
