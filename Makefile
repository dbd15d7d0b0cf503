# The two commands of the README, and a few helpers. Everything is in scripts/.
.PHONY: dev test stop status clean mail lint-template deny bench build lint-workflows dashboard smoke openapi sqlx

## make dev: bring the local stack up, seed an admin and a moderator (once per stack),
## and serve the whole API on http://127.0.0.1:9000
dev:
	scripts/stack.sh up
	scripts/seed-dev.sh
	scripts/serve.sh

## make test: fresh test stack, every check and test, teardown; non-zero on any failure
test:
	scripts/test.sh

## make stop: stop the dev stack (data kept for the next make dev)
stop:
	-scripts/serve.sh --kill
	scripts/stack.sh stop

status:
	scripts/stack.sh status

## make mail: the last mails the dev stack's SES sent (to, subject, links); make dev also
## writes each one to .stack/dev/mail/
mail:
	@. "$$(scripts/stack.sh env)" && .venv/bin/python scripts/mail.py show

## make clean: stop the dev stack and delete its data
clean:
	-scripts/serve.sh --kill
	scripts/stack.sh down

lint-template:
	scripts/lint-template.sh

deny:
	scripts/deny.sh

## make bench: every benchmark of docs/benchmarks.md on a fresh bench stack; results in target/bench/
bench:
	scripts/bench.sh
	scripts/bench-server.sh | tee target/bench/server.txt

## make build: release bootstraps of every function for arm64 in target/lambda/<function>/bootstrap,
## with their sizes (BUILD_ONLY="auth health" builds only those)
build:
	scripts/build.sh

lint-workflows:
	scripts/lint-workflows.sh

## make dashboard: template.yaml's CloudWatch dashboard drawn from a local run's EMF and
## access-log lines (the newest .stack/*/watch.log, or LOGS="file ..."), in
## target/dashboard/index.html
dashboard:
	scripts/venv.sh
	.venv/bin/python scripts/dashboard.py $(LOGS)

## make smoke: the post-deploy smoke test against a running API (BH_API_URL, default make dev's)
smoke:
	python3 scripts/smoke-test.py

## make openapi: write openapi.yaml from the code (#[utoipa::path] on the handlers);
## make test fails while the committed file differs from it
openapi:
	cargo run --quiet -p api-tests --bin openapi

## make sqlx: rewrite .sqlx/ (the query! statements' data for builds without a database)
## from the running test stack's schema; make test fails while it differs
sqlx:
	BH_STACK=test bash -c '. "$$(scripts/stack.sh env)" && scripts/sqlx-data.sh write'
