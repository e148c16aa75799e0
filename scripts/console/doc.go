// Package console is the reference console page (index.html, console.js,
// console.css: plain HTML and JS, no build step) that scripts/dev.sh serves
// on its own origin, and its browser tests (browser_test.go, build tag
// browser), which scripts/test.sh runs in headless Chromium against the
// running local stack. It has no Go code to import.
package console
