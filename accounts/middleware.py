"""Each reader's language: a signed-in person's choice, remembered on them (``User.language``),
wins over the browser's; Django's LocaleMiddleware has already chosen for everyone else."""
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)
