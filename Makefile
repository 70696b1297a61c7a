# dirconn — see README.md. `make run` builds and starts the desktop app; `make test` runs the whole suite.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/dirconn/dirconn/internal/version.Version=$(VERSION)
PKGS     = ./...

.PHONY: all build build-gui run test gui-smoke screenshots bench lint fmt deps deps-test clean

all: build

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

## build: the CLI (static, no cgo) in bin/
build: deps
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/dirconn ./cmd/dirconn

## build-gui: the desktop app (Fyne, cgo: needs the OpenGL/X11 headers scripts/deps.sh installs) in bin/
build-gui: deps
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/dirconn-gui ./cmd/dirconn-gui

## run: build and start the desktop app (its login screen offers a demo on bundled data)
run: build-gui
	./bin/dirconn-gui

## test: lint, the whole suite under the race detector (GUI tests headless with Fyne's ci tag), a real
## Secret Service round trip, the desktop app's cgo build and a smoke run of it under Xvfb
test: deps-test lint
	$(GO) test -race -tags ci -count=1 $(PKGS)
	scripts/keyring-test.sh
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/dirconn-gui ./cmd/dirconn-gui
	scripts/gui-smoke.sh bin/dirconn-gui

## gui-smoke: the desktop app starts under Xvfb and exits 0 on quit and SIGTERM, with and without D-Bus
gui-smoke: build-gui
	scripts/gui-smoke.sh bin/dirconn-gui

## screenshots: the README's pictures of the real app under Xvfb (demo data) into docs/screenshots/
screenshots: build-gui
	@scripts/deps.sh screenshots
	scripts/screenshots.sh bin/dirconn-gui docs/screenshots

## bench: the figures issues ask for: plan + request build for 50,000 and 200,000 users; dirconn test
## against a real slapd of 10,000 and 50,000 users next to a paged ldapsearch of the same entries
bench: build
	@scripts/deps.sh bench
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x ./internal/plan/
	$(GO) run ./internal/directory/ldap/ldapbench -dirconn bin/dirconn -sizes 10000,50000

## lint: gofmt and go vet (also with Fyne's ci tag, as the tests build) must be clean
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags ci $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin dist
