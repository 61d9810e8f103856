"""A real OpenID Connect provider for the single sign-on tests: django-oidc-provider in a Django
process of its own (settings and URLs here, its own SQLite file), started by
accounts.tests.oidc_server on a free local port."""
