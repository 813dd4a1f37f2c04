# The two commands of the README, and a few for developers.
.PHONY: test demo demo-down setup rig-status

test: ## Every check and test, on a fresh machine too (what CI runs)
	bash scripts/test.sh

demo: ## The operator's main job (see README)
	bash scripts/demo.sh

demo-down:
	bash scripts/demo.sh down

setup:
	bash scripts/setup.sh

rig-status:
	PATH="$(CURDIR)/node_modules/.bin:$$PATH" node e2e/rig/cli.ts status
