# Shortcuts; each target is the same as the README's commands.
.PHONY: serve test ci messages compile
serve:
	python3 dev.py serve
test:
	python3 dev.py test
ci:
	bash .ci/run
# After changing any user-facing string: update the Russian catalog, translate, compile (the
# compiled .mo is committed: a machine with only Python has no msgfmt).
messages:
	.venv/bin/python manage.py makemessages -l ru --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=bench
compile:
	.venv/bin/python manage.py compilemessages -l ru --ignore=.venv
