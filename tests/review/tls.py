#!/usr/bin/env python3
"""tests/review/tls.py BUILD - apology-review speaking HTTPS itself.

Makes a self-signed certificate for 127.0.0.1 with the openssl command (in a
temporary directory, gone afterwards), starts BUILD/apology-review on a free
loopback port with tls-cert and tls-key and a store of its own (no Postfix),
and checks with curl:

  https-login       the log-in page over HTTPS, trusting only the test's
                    certificate (--cacert): 200, Strict-Transport-Security,
                    Secure cookies; a log-in over it reaches the queue page
  unknown-ca        without --cacert curl refuses the certificate: the server
                    really presents the one it was given
  plain-http        plain HTTP to the TLS port gets no HTTP answer
  old-tls           TLS 1.1 is refused (TLS 1.2 and 1.3 only)
  no-hsts-plain     plain HTTP on loopback (no tls-cert): no
                    Strict-Transport-Security, no Secure cookie
  remote-plain      an address other than loopback without TLS is refused at
                    start (exit 78) with a clear error, before any bind; the
                    same address with TLS gets past that check (and then
                    fails only to bind, 192.0.2.1 not being ours)
  half-tls          tls-cert without tls-key, a missing key, or a key anyone
                    may read, is refused
  bad-cert          a file that is no certificate stops the start, saying so
  browser           (only when named) tests/web/tls.test.js: headless chromium
                    trusting only this certificate logs in over HTTPS, sees HSTS
                    and a Secure cookie; one that does not trust it refuses the page

Prints "ok NAME" or "FAIL NAME: why" per test and "tls: N passed, M failed";
exits 1 when any failed.  Run by tests/review/run.sh (make review-test), or
alone.  Needs openssl and curl (make deps).
"""
import base64
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from web_limits import PASSWORD, REVIEW, Failed, Server, expect, free_port  # noqa: E402 (BUILD: argv[1])


def make_certificate(directory):
    """A self-signed P-256 certificate for IP 127.0.0.1 and its key; their paths."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


@contextlib.contextmanager
def serving(*settings):
    """apology-review on a free loopback port with SETTINGS while the block
    runs; yields its port."""
    srv = Server(*settings)
    try:
        yield srv.port
    finally:
        srv.stop()


def curl(*args):
    """curl ARGS: (exit status, headers and body as text)."""
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", "10"] + list(args), capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def header(text, name):
    m = re.search(r"^%s: *(.*?)\r?$" % re.escape(name), text, re.M | re.I)
    return m.group(1) if m else None


def start_refused(directory, listen, *settings):
    """apology-review that must not start, on LISTEN (default: a free loopback
    port): (exit status, standard error)."""
    accounts = os.path.join(directory, "accounts")
    with open(accounts, "w") as f:
        f.write("alice:reviewer:$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n")
    args = [REVIEW, "-o", "store=sqlite:" + os.path.join(directory, "store.db"), "-o", "accounts=" + accounts,
            "-o", "listen=" + (listen or "127.0.0.1:%d" % free_port()), "-o", "smtp-url="]
    for s in settings:
        args += ["-o", s]
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr


def t_https_login(d, cert, key):
    with serving("tls-cert=" + cert, "tls-key=" + key) as port:
        base = "https://127.0.0.1:%d" % port
        jar = os.path.join(d, "cookies")
        rc, out = curl("--cacert", cert, "-c", jar, base + "/login")
        expect(rc == 0 and out.startswith("HTTP/1.1 200"), "GET /login over HTTPS: rc %d: %s" % (rc, out[:300]))
        expect(header(out, "Strict-Transport-Security") == "max-age=31536000", "HSTS: %r" % out[:800])
        expect("; Secure" in (header(out, "Set-Cookie") or ""), "cookie not Secure: %r" % header(out, "Set-Cookie"))
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', out)
        expect(csrf, "no log-in form")
        rc, out = curl("--cacert", cert, "-b", jar, "-c", jar, "--data-urlencode", "csrf=" + csrf.group(1),
                       "--data-urlencode", "user=alice", "--data-urlencode", "password=" + PASSWORD,
                       base + "/login")
        expect(rc == 0 and out.startswith("HTTP/1.1 303") and header(out, "Location") == "/",
               "log-in: rc %d: %s" % (rc, out[:300]))
        expect("; Secure" in (header(out, "Set-Cookie") or ""), "session cookie not Secure")
        rc, out = curl("--cacert", cert, "-b", jar, base + "/")
        expect(rc == 0 and out.startswith("HTTP/1.1 200") and "Log out" in out,
               "queue page after log-in: rc %d: %s" % (rc, out[:300]))
        expect(header(out, "Strict-Transport-Security") == "max-age=31536000", "no HSTS on the queue page")


def t_unknown_ca(d, cert, key):
    with serving("tls-cert=" + cert, "tls-key=" + key) as port:
        rc, out = curl("https://127.0.0.1:%d/login" % port)
        expect(rc == 60, "curl trusting only the system's CAs: rc %d (60 expected): %s" % (rc, out[-200:]))


def t_plain_http(d, cert, key):
    with serving("tls-cert=" + cert, "tls-key=" + key) as port:
        rc, out = curl("http://127.0.0.1:%d/login" % port)
        expect(rc != 0 and "HTTP/1." not in out, "plain HTTP got an answer: rc %d: %s" % (rc, out[:200]))
        rc, out = curl("--cacert", cert, "https://127.0.0.1:%d/login" % port)
        expect(rc == 0, "HTTPS after the plain attempt: rc %d" % rc)


def t_old_tls(d, cert, key):
    with serving("tls-cert=" + cert, "tls-key=" + key) as port:
        rc, out = curl("--cacert", cert, "--tlsv1.0", "--tls-max", "1.1", "https://127.0.0.1:%d/login" % port)
        expect(rc != 0 and "HTTP/1." not in out, "TLS 1.1 accepted: rc %d" % rc)
        rc, out = curl("--cacert", cert, "--tlsv1.2", "--tls-max", "1.2", "https://127.0.0.1:%d/login" % port)
        expect(rc == 0 and out.startswith("HTTP/1.1 200"), "TLS 1.2 refused: rc %d: %s" % (rc, out[-200:]))


def t_no_hsts_plain(d, cert, key):
    with serving() as port:
        rc, out = curl("http://127.0.0.1:%d/login" % port)
        expect(rc == 0 and out.startswith("HTTP/1.1 200"), "plain GET: rc %d" % rc)
        expect(header(out, "Strict-Transport-Security") is None, "HSTS over plain HTTP")
        expect("Secure" not in (header(out, "Set-Cookie") or "Secure"), "Secure cookie over plain HTTP")


def t_remote_plain(d, cert, key):
    rc, err = start_refused(d, "192.0.2.1:%d" % free_port())
    expect(rc == 78 and "is not a loopback address" in err and "tls-cert and tls-key" in err
           and "cannot listen" not in err, "rc %d: %s" % (rc, err))
    rc, err = start_refused(d, "192.0.2.1:%d" % free_port(), "tls-cert=" + cert, "tls-key=" + key)
    expect(rc == 69 and "cannot listen on 192.0.2.1" in err and "not a loopback" not in err,
           "with TLS the address is allowed (and then not ours to bind): rc %d: %s" % (rc, err))


def t_half_tls(d, cert, key):
    rc, err = start_refused(d, None, "tls-cert=" + cert)
    expect(rc == 78 and "tls-cert and tls-key go together" in err, "cert alone: rc %d: %s" % (rc, err))
    rc, err = start_refused(d, None, "tls-cert=" + cert, "tls-key=" + os.path.join(d, "missing.pem"))
    expect(rc == 78 and "tls-key" in err and "missing.pem" in err, "missing key: rc %d: %s" % (rc, err))
    open_key = os.path.join(d, "open-key.pem")
    shutil.copy(key, open_key)
    os.chmod(open_key, 0o644)
    rc, err = start_refused(d, None, "tls-cert=" + cert, "tls-key=" + open_key)
    expect(rc == 78 and "may be read by anyone" in err, "a world-readable key: rc %d: %s" % (rc, err))


def t_bad_cert(d, cert, key):
    junk = os.path.join(d, "junk.pem")
    with open(junk, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    rc, err = start_refused(d, None, "tls-cert=" + junk, "tls-key=" + key)
    expect(rc == 69 and "not a PEM certificate and its private key" in err, "rc %d: %s" % (rc, err))


def spki_hash(cert):
    """Base64 SHA-256 of CERT's public key, as chromium's
    --ignore-certificate-errors-spki-list takes it."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, capture_output=True,
                         check=True).stdout
    digest = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der, capture_output=True,
                            check=True).stdout
    return base64.b64encode(digest).decode()


def t_browser(d, cert, key):
    with serving("tls-cert=" + cert, "tls-key=" + key) as port:
        env = dict(os.environ, REVIEW_URL="https://127.0.0.1:%d" % port, REVIEW_PASS=PASSWORD,
                   CERT_SPKI=spki_hash(cert))
        r = subprocess.run(["node", "tests/web/tls.test.js"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=300)
        sys.stdout.write(r.stdout)
        expect(r.returncode == 0, "browser tests failed: " + (r.stderr.strip()[-300:] or "see above"))


TESTS = {
    "https-login": t_https_login,
    "unknown-ca": t_unknown_ca,
    "plain-http": t_plain_http,
    "old-tls": t_old_tls,
    "no-hsts-plain": t_no_hsts_plain,
    "remote-plain": t_remote_plain,
    "half-tls": t_half_tls,
    "bad-cert": t_bad_cert,
}
# Only when named: it needs chromium and playwright-core (tests/review/run.sh sees to them).
EXTRA = {"browser": t_browser}


def main():
    for tool in ("openssl", "curl"):
        if shutil.which(tool) is None:
            print("FAIL tls: %s is not installed (make deps)" % tool)
            return 1
    names = sys.argv[2:] or list(TESTS)
    passed = failed = 0
    top = tempfile.mkdtemp(prefix="review-tls-")
    try:
        cert, key = make_certificate(top)
        for name in names:
            d = tempfile.mkdtemp(dir=top)
            try:
                {**TESTS, **EXTRA}[name](d, cert, key)
                print("ok   " + name)
                passed += 1
            except Failed as e:
                print("FAIL %s: %s" % (name, e))
                failed += 1
    finally:
        shutil.rmtree(top, ignore_errors=True)
    print("tls: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
