#!/usr/bin/env python3
"""Python's ssl module (unmodified, OpenSSL through OPENSSL_CONF) serves TLS
with a certificate file and an SE05X KEY REFERENCE key file: the private key
operation happens in the SE through the se05x provider. A client in the
same process connects, checks the certificate and gets an echo back.
Usage: py_ssl_refkey.py CERT.pem REFKEY.pem  (prints 'echo: hello TLSv1.x')."""
import socket
import ssl
import sys
import threading

cert, key = sys.argv[1], sys.argv[2]
srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
srv.load_cert_chain(certfile=cert, keyfile=key)
cli = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
cli.load_verify_locations(cert)
cli.check_hostname = False

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
errors = []


def serve():
    try:
        conn, _ = listener.accept()
        with srv.wrap_socket(conn, server_side=True) as s:
            s.sendall(s.recv(100))
    except Exception as e:  # reported by the main thread
        errors.append(e)


t = threading.Thread(target=serve)
t.start()
with socket.create_connection(listener.getsockname(), timeout=10) as raw:
    with cli.wrap_socket(raw) as s:
        s.sendall(b"hello")
        print("echo:", s.recv(100).decode(), s.version())
t.join()
if errors:
    print("server error:", errors[0], file=sys.stderr)
    sys.exit(1)
