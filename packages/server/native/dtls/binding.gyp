{
  "targets": [
    {
      "target_name": "fleetpki_dtls",
      "sources": ["dtls.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000"]
    }
  ]
}
