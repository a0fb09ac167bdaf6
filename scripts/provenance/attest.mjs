#!/usr/bin/env node
// Attests an image or chart in a registry on this machine the way the publishing workflows'
// `actions/attest` step does, with no network: GitHub's own signing library
// (`@actions/attest`, which actions/attest v4.2.2 runs) signs SLSA provenance of the digest,
// `@sigstore/oci` attaches it beside the artifact, and `@sigstore/mock` stands in, inside
// this process, for Fulcio, the timestamp authority and the Actions OIDC token endpoint.
// The real-tools tests and `cargo xtask release rehearse` use it; `gh attestation verify
// --custom-trusted-root FILE` then checks the result as it checks GitHub's.
//
//   node scripts/provenance/attest.mjs --installed
//       exit 0 when the npm packages of package-lock.json are installed, else 1
//   node scripts/provenance/attest.mjs REPOSITORY@sha256:HEX --trusted-root FILE
//       --repository OWNER/NAME --workflow .github/workflows/FILE.yml --ref refs/tags/vX.Y.Z
//       --sha COMMIT [--statement-digest sha256:HEX] [--credentials docker-config]
//       signs as that repository's workflow run at that ref and commit, attaches the
//       attestation to REPOSITORY@sha256:HEX and prints {"attestation": "sha256:…"};
//       --statement-digest makes a statement about another artifact (what a test of a
//       mismatch needs). The first run with a FILE makes the mock certificate authority and
//       timestamp authority, writes them to FILE as a trusted root (gh's
//       --custom-trusted-root) and keeps their keys in FILE.keys.json; later runs sign with
//       those, so one FILE verifies every attestation made with it. (gh uses the first
//       trusted root whose issuer matches, so a root per run would not do.)
//       --credentials docker-config: the registry login is read as actions/attest reads it,
//       from `$HOME/.docker/config.json` only, and a missing one fails (the act tests' stand-in
//       for the action, xtask/tests/it/real/act.rs, runs it so).
//
// Network: every connection but loopback is refused (nock), so nothing leaves the machine.
// The registry is spoken to anonymously, or with RELEASE_REGISTRY_USER and
// RELEASE_REGISTRY_PASSWORD when set. scripts/install-test-tools.sh installs the packages,
// pinned by package-lock.json, into the tools cache, outside the repository.

import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// Where scripts/install-test-tools.sh puts the packages: the same variables, the same default.
const cacheDir =
  process.env.TOOLS_CACHE_DIR ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'llm-proxy-tools');
const installDir = path.join(cacheDir, 'provenance');
const modules = path.join(installDir, 'node_modules');
const lockfile = path.join(path.dirname(new URL(import.meta.url).pathname), 'package-lock.json');

// The installation is current when npm installed exactly this directory's lockfile.
function installed() {
  try {
    return fs.readFileSync(path.join(installDir, 'package-lock.json'), 'utf8') ===
      fs.readFileSync(lockfile, 'utf8') && fs.existsSync(path.join(modules, '.package-lock.json'));
  } catch {
    return false;
  }
}

// Packages load from the cache; @actions/attest is an ES module without a require entry.
const requireFromCache = createRequire(path.join(modules, 'index.js'));
async function importFromCache(name) {
  const dir = path.join(modules, name);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const entry = manifest.exports?.['.']?.import ?? manifest.main;
  return import(pathToFileURL(path.join(dir, entry)).href);
}

function parseArgs(args) {
  const [artifact, ...rest] = args;
  const options = {};
  for (let i = 0; i < rest.length; i += 2) {
    if (!rest[i].startsWith('--') || rest[i + 1] === undefined) {
      throw new Error(`expected --name value pairs after the artifact, got ${rest[i]}`);
    }
    options[rest[i].slice(2)] = rest[i + 1];
  }
  for (const required of ['trusted-root', 'repository', 'workflow', 'ref', 'sha']) {
    if (!options[required]) throw new Error(`--${required} is required`);
  }
  const at = artifact?.lastIndexOf('@sha256:') ?? -1;
  if (at < 1) throw new Error(`expected REPOSITORY@sha256:HEX, got ${artifact}`);
  return { name: artifact.slice(0, at), digest: artifact.slice(at + 1), ...options };
}

// The claims GitHub Actions puts in the OIDC token of a tag push's run; Fulcio copies them
// into the certificate's extensions, and its subject is the signing workflow.
function claims(o) {
  const [owner] = o.repository.split('/');
  const workflowRef = `${o.repository}/${o.workflow}@${o.ref}`;
  return {
    iss: 'https://token.actions.githubusercontent.com',
    sub: `repo:${o.repository}:ref:${o.ref}`,
    ref: o.ref,
    ref_type: o.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    sha: o.sha,
    repository: o.repository,
    repository_owner: owner,
    repository_id: '100000001',
    repository_owner_id: '100000002',
    repository_visibility: 'public',
    event_name: 'push',
    workflow: path.basename(o.workflow, path.extname(o.workflow)),
    workflow_ref: workflowRef,
    workflow_sha: o.sha,
    job_workflow_ref: workflowRef,
    job_workflow_sha: o.sha,
    runner_environment: 'github-hosted',
    run_id: '100000003',
    run_attempt: '1',
    // The mock Fulcio takes the certificate's subject from this claim.
    san: `https://github.com/${workflowRef}`,
  };
}

const der = (bytes) => Buffer.from(bytes).toString('base64');
const fromDer = (text) => Buffer.from(text, 'base64');

// The mock certificate and timestamp authorities of `trustedRootFile`: made and kept in
// `trustedRootFile.keys.json` by the first run, read back by the later ones. Two runs may
// start at once (the act tests attest the image and the chart side by side, as GitHub does):
// the keys file is put in place with link(2), which fails if it exists, so exactly one
// run's authorities are kept and the other run signs with those.
async function authorities(mock, pkijs, trustedRootFile) {
  const statePath = `${trustedRootFile}.keys.json`;
  const pem = (key) => key.export({ format: 'pem', type: key.type === 'private' ? 'pkcs8' : 'spki' });
  const fromPem = ({ privateKey, publicKey }) => ({
    privateKey: crypto.createPrivateKey(privateKey),
    publicKey: crypto.createPublicKey(publicKey),
  });
  if (!fs.existsSync(statePath)) {
    const keyPair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const [caKeys, tsaKeys] = [keyPair(), keyPair()];
    const ca = await mock.initializeCA(caKeys);
    const tsa = await mock.initializeTSA(tsaKeys);
    const keys = (k) => ({ privateKey: pem(k.privateKey), publicKey: pem(k.publicKey) });
    const state = {
      ca: { ...keys(caKeys), root: der(ca.rootCertificate) },
      tsa: { ...keys(tsaKeys), root: der(tsa.rootCertificate), intermediate: der(tsa.intCertificate) },
    };
    const draft = `${statePath}.${process.pid}`;
    fs.writeFileSync(draft, JSON.stringify(state), { mode: 0o600 });
    try {
      fs.linkSync(draft, statePath);
      return { ca, tsa, created: true };
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    } finally {
      fs.unlinkSync(draft);
    }
  }
  const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
  // The certificate authority signs with the kept key: its leaf certificates chain to the
  // root already in the trusted root (same name, same key).
  const ca = await mock.initializeCA(fromPem(state.ca));
  // A timestamp names the certificate that signed it (ESSCertIDv2), so the timestamp
  // authority must sign as the very certificates of the trusted root: put them back.
  const tsa = await mock.initializeTSA(fromPem(state.tsa));
  tsa.rootCert = pkijs.Certificate.fromBER(fromDer(state.tsa.root));
  tsa.intCert = pkijs.Certificate.fromBER(fromDer(state.tsa.intermediate));
  return { ca, tsa, created: false };
}

// gh's --custom-trusted-root: one trusted root per line; here the mock authorities.
function trustedRoot(ca, tsa) {
  const since = new Date(Date.now() - 60 * 1000).toISOString();
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: 'https://fulcio.githubapp.com',
        certChain: { certificates: [{ rawBytes: der(ca.rootCertificate) }] },
        validFor: { start: since },
      },
    ],
    ctlogs: [],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'tsa' },
        uri: 'https://timestamp.githubapp.com',
        certChain: {
          certificates: [{ rawBytes: der(tsa.intCertificate) }, { rawBytes: der(tsa.rootCertificate) }],
        },
        validFor: { start: since },
      },
    ],
  };
}

async function attest(o) {
  const nock = requireFromCache('nock');
  const jose = requireFromCache('jose');
  const mock = requireFromCache('@sigstore/mock');
  const oci = requireFromCache('@sigstore/oci');
  nock.disableNetConnect();
  nock.enableNetConnect((host) => /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host));

  // The Actions OIDC token endpoint and its issuer's keys.
  const issuer = 'https://token.actions.githubusercontent.com';
  const { publicKey, privateKey } = await jose.generateKeyPair('RS256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'mock', alg: 'RS256' };
  const tokenClaims = claims(o);
  nock('https://oidc.actions.invalid')
    .persist()
    .get('/token')
    .query(true)
    .reply(async (uri) => {
      const audience = new URL(uri, 'https://oidc.actions.invalid').searchParams.get('audience');
      const token = await new jose.SignJWT(tokenClaims)
        .setProtectedHeader({ alg: 'RS256', kid: 'mock' })
        .setIssuedAt()
        .setExpirationTime('5m')
        .setAudience(audience)
        .sign(privateKey);
      return [200, { value: token }];
    });
  nock(issuer)
    .persist()
    .get('/.well-known/openid-configuration')
    .reply(200, { issuer, jwks_uri: `${issuer}/.well-known/jwks` })
    .get('/.well-known/jwks')
    .reply(200, { keys: [jwk] });
  process.env.ACTIONS_ID_TOKEN_REQUEST_URL = 'https://oidc.actions.invalid/token?api-version=2.0';
  process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'mock';
  process.env.GITHUB_SERVER_URL = 'https://github.com';

  // GitHub's own Sigstore instance (private repositories): Fulcio and a timestamp
  // authority, no transparency log; made on the first run, kept for the next ones.
  const { ca, tsa, created } = await authorities(mock, requireFromCache('pkijs'), o['trusted-root']);
  const serve = (base, handler) =>
    nock(base)
      .persist()
      .post(handler.path)
      .reply(async (_, body) => {
        const answer = await handler.fn(typeof body === 'string' ? body : JSON.stringify(body));
        return [answer.statusCode, answer.response, { 'Content-Type': answer.contentType || 'text/plain' }];
      });
  serve('https://fulcio.githubapp.com', mock.fulcioHandler(ca, { subjectClaim: 'san' }));
  serve('https://timestamp.githubapp.com', mock.tsaHandler(tsa));

  const { attestProvenance } = await importFromCache('@actions/attest');
  const statementDigest = o['statement-digest'] || o.digest;
  const attestation = await attestProvenance({
    subjects: [{ name: o.name, digest: { sha256: statementDigest.replace(/^sha256:/, '') } }],
    sigstore: 'github',
    token: 'mock',
    // The action also stores it through GitHub's attestations API; here the registry is all.
    skipWrite: true,
  });

  // As actions/attest v4.2.2 attaches it (src/attest.ts).
  const user = process.env.RELEASE_REGISTRY_USER;
  let credentials = user ? { username: user, password: process.env.RELEASE_REGISTRY_PASSWORD || '' } : undefined;
  if (o.credentials === 'docker-config') {
    credentials = oci.getRegistryCredentials(o.name);
  } else if (o.credentials !== undefined) {
    throw new Error(`--credentials takes docker-config, got ${o.credentials}`);
  }
  const attached = await oci.attachArtifactToImage({
    credentials,
    imageName: o.name,
    imageDigest: o.digest,
    artifact: Buffer.from(JSON.stringify(attestation.bundle)),
    mediaType: attestation.bundle.mediaType,
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://slsa.dev/provenance/v1',
    },
    fetchOpts: { timeout: 30000, retry: 0 },
  });

  if (created) {
    fs.writeFileSync(o['trusted-root'], `${JSON.stringify(trustedRoot(ca, tsa))}\n`);
  }
  return attached.digest;
}

async function main(args) {
  if (args[0] === '--installed') {
    return installed() ? 0 : 1;
  }
  if (!installed()) {
    console.error(
      `attest: the npm packages of ${lockfile} are not installed in ${installDir}: run scripts/install-test-tools.sh`,
    );
    return 1;
  }
  const options = parseArgs(args);
  // @actions/core speaks to the Actions runner on stdout (`::debug::`, `::add-mask::`):
  // those lines go to stderr, so that stdout holds only the result.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => process.stderr.write(chunk, ...rest);
  const digest = await attest(options);
  write(`${JSON.stringify({ attestation: digest })}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`attest: ${error.message || error}${error.cause ? ` (${error.cause.message || error.cause})` : ''}`);
    process.exitCode = 1;
  },
);
