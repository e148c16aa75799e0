// Package testenv connects tests to the real local peers: the Firestore and
// Pub/Sub emulators and stripe-mock started by scripts/test.sh. A test that
// needs a peer which is not there fails (never skips), naming the command
// that starts it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"cloud.google.com/go/firestore"
	"github.com/go-jose/go-jose/v4"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"example.com/billing/shared/config"
	"example.com/billing/shared/testsupport/devauth"
)

const startHint = "run the tests with scripts/test.sh, which starts the emulators and stripe-mock"

// Env returns the environment variable name, failing the test when unset.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: %s", name, startHint)
	}
	return v
}

// ProjectID returns a fresh demo project id. The emulators keep each project
// apart, so tests on different projects can run in parallel without wiping.
func ProjectID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(t.Name()))
	if len(name) > 12 {
		name = name[:12]
	}
	return "demo-" + strings.Trim(name, "-") + "-" + hex.EncodeToString(b)
}

// Firestore returns a client of the Firestore emulator on a project of its
// own, closed when the test ends.
func Firestore(t testing.TB) *firestore.Client {
	t.Helper()
	return FirestoreProject(t, ProjectID(t))
}

// FirestoreProject returns a client of the emulator's project.
func FirestoreProject(t testing.TB, project string) *firestore.Client {
	t.Helper()
	Env(t, "FIRESTORE_EMULATOR_HOST")
	fs, err := firestore.NewClient(context.Background(), project)
	if err != nil {
		t.Fatalf("firestore client: %v", err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// Issuer is a token issuer with its JWKS served over HTTP for the test.
type Issuer struct {
	*devauth.TokenIssuer
	URL string
}

// NewIssuer starts a JWKS server for a fresh key of the given algorithm.
func NewIssuer(t testing.TB, alg jose.SignatureAlgorithm) *Issuer {
	t.Helper()
	iss, err := devauth.New(devauth.Issuer, devauth.Audience, alg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.JWKS())
	t.Cleanup(srv.Close)
	return &Issuer{TokenIssuer: iss, URL: srv.URL}
}

// Config is the auth configuration that trusts this issuer.
func (i *Issuer) Config() config.Auth {
	return config.Auth{JWKSURL: i.URL, Issuer: i.Issuer, Audience: i.Audience}
}

// Token mints a valid token for userID.
func (i *Issuer) Token(t testing.TB, userID, email string) string {
	t.Helper()
	tok, err := i.Mint(devauth.Claims{Subject: userID, Email: email})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Authorize sets r's bearer token.
func Authorize(r *http.Request, token string) *http.Request {
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// UnreachableFirestore returns a client whose every call fails: it points
// at a port where nothing listens.
func UnreachableFirestore(t testing.TB) *firestore.Client {
	t.Helper()
	l := httptest.NewUnstartedServer(nil)
	addr := l.Listener.Addr().String()
	l.Listener.Close()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	// Options given here come after the emulator's connection and win.
	fs, err := firestore.NewClient(context.Background(), ProjectID(t), option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}
