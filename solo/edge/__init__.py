"""What the web pages and the client API share, below both: the login session and its CSRF
token, templates, the security headers and body limit, and the rate limits (the failed-login
budget among them). `web` and `api` import from here, never from each other."""
