# Shortcuts; each target is the same as the README's commands.
.PHONY: serve test ci messages
serve:
	python3 dev.py serve
test:
	python3 dev.py test
ci:
	bash .ci/run
messages:
	.venv/bin/python manage.py makemessages -l ru --ignore=.venv --ignore=staticfiles
