"""Server-rendered pages: login, home, profile. Thin edges over the services below."""
