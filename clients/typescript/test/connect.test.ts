/**
 * How the client reaches a shop: TLS trusting the shop's CA (found in the data directory,
 * or where BAZAAR_TLS_CA says), a client certificate when one is given, plaintext only when
 * asked for. Against real HTTP/2 servers on real sockets that answer CurrencyService's
 * GetCurrency as gRPC does, with a CA and certificates made for the run; no shop needed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import type { TLSSocket } from "node:tls";

import { create, toBinary } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";

import { Bazaar, security } from "../src/bazaar.js";
import { GetCurrencyResponseSchema } from "../src/gen/bazaar/currency/v1/currency_pb.js";
import { makeCa, makePki } from "./pki.js";

// Each test starts without the variables the client reads (scripts/clients-e2e.sh sets some
// for the purchase), and they are as they were once the file is done.
const VARIABLES = ["BAZAAR_PLAINTEXT", "BAZAAR_TLS_CA", "BAZAAR_TLS_CERT", "BAZAAR_TLS_KEY", "BAZAAR_DATA_DIR", "BAZAAR_CURRENCY_ADDR"];
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
function restore(values: Record<string, string | undefined>): void {
  for (const name of VARIABLES) {
    if (values[name] === undefined) {
      delete process.env[name];
    } else {
      process.env[name] = values[name];
    }
  }
}
beforeEach(() => restore({}));
after(() => restore(saved));

const top = mkdtempSync(join(tmpdir(), "bazaar-client-tls-"));
const dataDir = join(top, "shop");
const pki = join(dataDir, "pki");

/** A server that answers every call as GetCurrency of EUR, recording the caller's certificate. */
interface Server {
  address: string;
  /** The SANs of each call's client certificate ("" without one). */
  peers: string[];
  close(): Promise<void>;
}

async function serve(tls: { requireClientCert: boolean } | null): Promise<Server> {
  const peers: string[] = [];
  const server = tls
    ? http2.createSecureServer({
        cert: readFileSync(join(pki, "currency.crt")),
        key: readFileSync(join(pki, "currency.key")),
        ca: readFileSync(join(pki, "ca.crt")),
        requestCert: true,
        rejectUnauthorized: tls.requireClientCert,
      })
    : http2.createServer();
  server.on("stream", (stream, headers) => {
    const socket = stream.session?.socket as TLSSocket | undefined;
    peers.push(tls && socket ? (socket.getPeerCertificate().subjectaltname ?? "") : "");
    stream.resume();
    stream.on("end", () => {
      assert.equal(headers[":path"], "/bazaar.currency.v1.CurrencyService/GetCurrency");
      const body = toBinary(GetCurrencyResponseSchema, create(GetCurrencyResponseSchema, { currency: { code: "EUR" } }));
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      frame.set(body, 5);
      stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(frame);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    peers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let served: Server;
before(async () => {
  makePki(pki, ["currency"], ["operator"]);
  served = await serve({ requireClientCert: false });
});
after(async () => {
  await served.close();
  rmSync(top, { recursive: true, force: true });
});

/** GetCurrency of EUR through `shop`'s currency client, closing it afterwards. */
async function euro(shop: Bazaar): Promise<string | undefined> {
  try {
    return (await shop.currency.getCurrency({ code: "EUR" }, { timeoutMs: 5000 })).currency?.code;
  } finally {
    shop.close();
  }
}

const isConnectError = (error: unknown) => error instanceof ConnectError;

test("TLS trusting the CA of the data directory", async () => {
  process.env.BAZAAR_CURRENCY_ADDR = served.address;
  assert.equal(await euro(new Bazaar({ dataDir })), "EUR");
  process.env.BAZAAR_DATA_DIR = dataDir;
  assert.equal(await euro(new Bazaar()), "EUR");
  // no client certificate unless one is given
  assert.equal(served.peers.at(-1), "");
});

test("the default is data/pki/ca.crt in the working directory", async () => {
  process.env.BAZAAR_CURRENCY_ADDR = served.address;
  const cwd = process.cwd();
  renameSync(dataDir, join(top, "data"));
  process.chdir(top);
  try {
    assert.equal(await euro(new Bazaar()), "EUR");
  } finally {
    process.chdir(cwd);
    renameSync(join(top, "data"), dataDir);
  }
});

test("BAZAAR_TLS_CA names the CA, and another CA is not trusted", async () => {
  process.env.BAZAAR_CURRENCY_ADDR = served.address;
  process.env.BAZAAR_TLS_CA = join(pki, "ca.crt");
  assert.equal(await euro(new Bazaar({ dataDir: join(top, "nowhere") })), "EUR");
  process.env.BAZAAR_TLS_CA = makeCa(join(top, "stranger"));
  await assert.rejects(euro(new Bazaar({ dataDir })), isConnectError);
  // the option wins over the variable
  assert.equal(await euro(new Bazaar({ ca: join(pki, "ca.crt") })), "EUR");
});

test("a TLS server refuses a plaintext client", async () => {
  process.env.BAZAAR_CURRENCY_ADDR = served.address;
  await assert.rejects(euro(new Bazaar({ plaintext: true })), isConnectError);
});

test("plaintext only when asked for", async () => {
  const plain = await serve(null);
  try {
    process.env.BAZAAR_CURRENCY_ADDR = plain.address;
    await assert.rejects(euro(new Bazaar({ dataDir })), isConnectError);
    process.env.BAZAAR_PLAINTEXT = "1";
    assert.equal(await euro(new Bazaar({ dataDir: join(top, "nowhere") })), "EUR");
    process.env.BAZAAR_PLAINTEXT = "0";
    await assert.rejects(euro(new Bazaar({ dataDir })), isConnectError);
    assert.equal(await euro(new Bazaar({ plaintext: true })), "EUR");
  } finally {
    await plain.close();
  }
});

test("the client certificate, when given", async () => {
  const strict = await serve({ requireClientCert: true });
  try {
    process.env.BAZAAR_CURRENCY_ADDR = strict.address;
    await assert.rejects(euro(new Bazaar({ dataDir })), isConnectError);
    process.env.BAZAAR_TLS_CERT = join(pki, "operator.crt");
    process.env.BAZAAR_TLS_KEY = join(pki, "operator.key");
    const shop = new Bazaar({ dataDir });
    // token views share the connections, and so the certificate
    assert.equal(await euro(shop.withToken("a-token")), "EUR");
    assert.equal(strict.peers.at(-1), "URI:spiffe://bazaar.local/operator/operator");
    delete process.env.BAZAAR_TLS_CERT;
    delete process.env.BAZAAR_TLS_KEY;
    const options = { dataDir, cert: join(pki, "operator.crt"), key: join(pki, "operator.key") };
    assert.equal(await euro(new Bazaar(options)), "EUR");
  } finally {
    await strict.close();
  }
});

test("missing files are named", () => {
  const nowhere = join(top, "nowhere");
  assert.throws(() => new Bazaar({ dataDir: nowhere }), (error: Error) => {
    return error.message.includes(join(nowhere, "pki", "ca.crt")) && error.message.includes("BAZAAR_PLAINTEXT=1");
  });
  assert.throws(() => security({ dataDir, cert: join(nowhere, "x.crt"), key: join(nowhere, "x.key") }), (error: Error) => {
    return error.message.includes(join(nowhere, "x.crt"));
  });
  assert.throws(() => security({ dataDir, cert: join(pki, "operator.crt") }), /both/);
  process.env.BAZAAR_TLS_KEY = join(pki, "operator.key");
  assert.throws(() => security({ dataDir }), /both/);
});
