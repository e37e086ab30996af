#!/usr/bin/env bash
# Makes a throwaway PKI for TLS tests in DIR: a test CA (ca.pem), a server certificate for
# localhost and 127.0.0.1 (server.pem, server.key), a client certificate from the same CA
# (client.pem, client.key), and a client certificate from another CA (other-client.pem,
# other-client.key; other-ca.pem). EC P-256 keys, valid for 2 days. Usage: make_test_pki.sh DIR
set -euo pipefail
dir="$1"
mkdir -p "$dir"
cd "$dir"
days=2
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # NAME CN
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days "$days" -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
}
leaf() {  # NAME CA CN EXT
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null
  printf '%s\n' "$4" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
    -days "$days" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
ca ca "gather test CA"
ca other-ca "another test CA"
leaf server ca localhost "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth
basicConstraints=CA:FALSE"
leaf client ca etl-client "subjectAltName=DNS:etl-client
extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"
leaf other-client other-ca intruder "subjectAltName=DNS:intruder
extendedKeyUsage=clientAuth
basicConstraints=CA:FALSE"
chmod 600 ./*.key
