/**
 * A throwaway PKI for the tests, laid out as `bazaar up` lays out the shop's (`ca.crt`,
 * `ca.key`, `<name>.crt`, `<name>.key`, PEM), made with the `openssl` command: a CA, server
 * certificates with the SANs of the shop's (DNS localhost and the service name, IP
 * 127.0.0.1 and ::1, URI spiffe://bazaar.local/service/<name>) and client certificates
 * (spiffe://bazaar.local/operator/<name>).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}

/** `<dir>/<name>.crt` and `.key`: a self-signed CA. Returns the certificate's path. */
export function makeCa(dir: string, name = "ca"): string {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.crt`);
  openssl("req", "-x509", ...KEY, "-keyout", join(dir, `${name}.key`), "-out", cert, "-days", "2",
    "-subj", `/CN=bazaar test ${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  return cert;
}

/** `<dir>/<name>.crt` and `.key` signed by `<dir>/ca.crt`: a server certificate for service
 * `name`, or with `operator` a client certificate. */
export function makeLeaf(dir: string, name: string, operator = false): string {
  const [cert, key, csr, ext] = ["crt", "key", "csr", "ext"].map((suffix) => join(dir, `${name}.${suffix}`));
  const san = operator
    ? `subjectAltName=URI:spiffe://bazaar.local/operator/${name}\nextendedKeyUsage=clientAuth\n`
    : `subjectAltName=DNS:localhost,DNS:${name},IP:127.0.0.1,IP:::1,URI:spiffe://bazaar.local/service/${name}\n` +
      "extendedKeyUsage=serverAuth,clientAuth\n";
  writeFileSync(ext, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" + san);
  openssl("req", "-new", ...KEY, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`);
  openssl("x509", "-req", "-in", csr, "-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"),
    "-CAcreateserial", "-days", "2", "-out", cert, "-extfile", ext);
  rmSync(csr);
  rmSync(ext);
  return cert;
}

/** A CA and a certificate for each of `services` and `operators` in `dir`. */
export function makePki(dir: string, services: string[], operators: string[] = []): string {
  makeCa(dir);
  services.forEach((name) => makeLeaf(dir, name));
  operators.forEach((name) => makeLeaf(dir, name, true));
  return dir;
}
