#!/usr/bin/env node
/*
 * An S3-compatible server for mfu's tests: s3rver (a real S3 API over a
 * directory) behind a proxy that does what s3rver does not.
 *
 *  - Checks the AWS Signature Version 4 of every request with AWS's own
 *    signer (@smithy/signature-v4): the canonical request is rebuilt from
 *    the request as received, restricted to its SignedHeaders, and a
 *    different signature is answered 403 SignatureDoesNotMatch.  Unsigned
 *    requests are refused (403 AccessDenied).
 *  - Checks x-amz-content-sha256 is present and, unless it is
 *    UNSIGNED-PAYLOAD, equals the SHA-256 of the body
 *    (400 XAmzContentSHA256Mismatch).
 *  - Emulates AbortMultipartUpload (s3rver answers 405), ListMultipartUploads
 *    (s3rver answers 501) and UploadPartCopy (501), from s3rver's own
 *    upload directory, and serves ListObjectsV2 through s3rver's V1 listing
 *    (its V2 continuation tokens need DES, which Node's OpenSSL 3 lacks).
 *  - Serializes the requests on one key: S3 makes each PUT, copy and
 *    completion atomic (the last one wins, a reader sees the old or the new
 *    object), while s3rver rewrites the object's files in place, so a
 *    second writer would mix with the first and a reader could find none.
 *  - Test hooks under /__mfu/ (never signed, never forwarded): make the next
 *    N requests that match a method and a query word fail with a status.
 *
 * Virtual-hosted requests (Host: BUCKET.localhost:PORT) are passed on in
 * path style, which is all s3rver takes.  --list-page N makes every
 * ListObjectsV2 page hold at most N keys, so paging gets exercised.
 *
 * Usage: node server.js --dir DIR --bucket B [--port P] [--region R]
 *        [--list-page N]
 * Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and optionally
 * AWS_SESSION_TOKEN, then required on every request).  Prints
 * "ready PORT\n" on stdout once both servers listen on 127.0.0.1.
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const S3rver = require('s3rver');
const { SignatureV4 } = require('@smithy/signature-v4');
const { Hash } = require('@smithy/hash-node');
const { HttpRequest } = require('@smithy/protocol-http');

const UPLOADS = '._S3rver_uploads';
const EMPTY_SHA = crypto.createHash('sha256').digest('hex');

function args() {
  const out = { port: 0, region: 'us-east-1' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    out[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  if (!out.dir || !out.bucket) {
    console.error('usage: server.js --dir DIR --bucket B [--port P]');
    process.exit(2);
  }
  return out;
}

const opt = args();
const creds = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID || 'mfu-test-key',
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || 'mfu-test-secret',
};
if (process.env.AWS_SESSION_TOKEN) {
  creds.sessionToken = process.env.AWS_SESSION_TOKEN;
}
const signer = new SignatureV4({
  credentials: creds,
  region: opt.region,
  service: 's3',
  sha256: Hash.bind(null, 'sha256'),
  uriEscapePath: false,   /* S3 signs the path as sent, not re-encoded */
  applyChecksum: false,
});

let backendPort = 0;
const faults = [];        /* {method, word, status, count} */
const stats = { requests: 0, rejected: 0 };
const keyLocks = new Map(); /* object path -> tail of its write chain */

/* Run fn once every earlier write to the same object path has ended. */
function serialize(objPath, fn) {
  const prev = keyLocks.get(objPath) || Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => {});
  keyLocks.set(objPath, tail);
  tail.then(() => {
    if (keyLocks.get(objPath) === tail) keyLocks.delete(objPath);
  });
  return run;
}

function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, c => ({
    '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;',
  })[c]);
}

function sendError(res, status, code, message) {
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>' +
    code + '</Code><Message>' + xmlEscape(message) +
    '</Message></Error>';
  res.writeHead(status, { 'Content-Type': 'application/xml',
                          'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendXml(res, status, body) {
  body = '<?xml version="1.0" encoding="UTF-8"?>\n' + body;
  res.writeHead(status, { 'Content-Type': 'application/xml',
                          'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/* Split "a=1&b" into an object of decoded names to decoded values. */
function parseQuery(raw) {
  const q = {};
  if (!raw) return q;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    if (k in q) q[k] = [].concat(q[k], v);
    else q[k] = v;
  }
  return q;
}

function parseAuth(h) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), *SignedHeaders=([^,]+), *Signature=([0-9a-f]{64})$/.exec(h || '');
  if (!m) return null;
  const cred = m[1].split('/');
  if (cred.length !== 5 || cred[3] !== 's3' || cred[4] !== 'aws4_request') {
    return null;
  }
  return { key: cred[0], date: cred[1], region: cred[2],
           signed: m[2].split(';'), signature: m[3] };
}

function amzDate(s) {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(s || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/* Returns null when the request is authentic, else [status, code, msg]. */
async function verify(req, rawPath, rawQuery, body) {
  const auth = parseAuth(req.headers.authorization);
  if (!auth) return [403, 'AccessDenied', 'Access Denied'];
  if (auth.key !== creds.accessKeyId) {
    return [403, 'InvalidAccessKeyId',
            'The AWS Access Key Id you provided does not exist.'];
  }
  if (auth.region !== opt.region) {
    return [400, 'AuthorizationHeaderMalformed',
            `the region '${auth.region}' is wrong; expecting '${opt.region}'`];
  }
  const date = amzDate(req.headers['x-amz-date']);
  if (!date || !auth.signed.includes('x-amz-date') ||
      !auth.signed.includes('host')) {
    return [403, 'AccessDenied', 'host and x-amz-date must be signed'];
  }
  if (Math.abs(Date.now() - date.getTime()) > 15 * 60 * 1000) {
    return [403, 'RequestTimeTooSkewed', 'request time too skewed'];
  }
  const sha = req.headers['x-amz-content-sha256'];
  if (!sha) {
    return [400, 'InvalidRequest',
            'Missing required header for this request: x-amz-content-sha256'];
  }
  if (sha !== 'UNSIGNED-PAYLOAD') {
    const got = body.length ?
      crypto.createHash('sha256').update(body).digest('hex') : EMPTY_SHA;
    if (got !== sha) {
      return [400, 'XAmzContentSHA256Mismatch',
              "The provided 'x-amz-content-sha256' header does not match " +
              'what was computed.'];
    }
  }
  if (creds.sessionToken &&
      req.headers['x-amz-security-token'] !== creds.sessionToken) {
    return [403, 'InvalidToken', 'The provided token is malformed or invalid.'];
  }
  const headers = {};
  for (const name of auth.signed) {
    if (req.headers[name] === undefined) {
      return [403, 'SignatureDoesNotMatch', `signed header ${name} missing`];
    }
    headers[name] = req.headers[name];
  }
  const unsignable = new Set();
  if (!('x-amz-content-sha256' in headers)) {
    headers['x-amz-content-sha256'] = sha;   /* the payload hash line */
    unsignable.add('x-amz-content-sha256');
  }
  const request = new HttpRequest({
    method: req.method, protocol: 'http:', hostname: '127.0.0.1',
    path: rawPath, query: parseQuery(rawQuery), headers,
  });
  const signed = await signer.sign(request, {
    signingDate: date, unsignableHeaders: unsignable,
    signableHeaders: new Set(auth.signed),
  });
  const want = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization);
  const a = Buffer.from(want[1]);
  const b = Buffer.from(auth.signature);
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) {
    return [403, 'SignatureDoesNotMatch',
            'The request signature we calculated does not match the ' +
            'signature you provided. Check your key and signing method.'];
  }
  return null;
}

function uploadsDir(bucket) {
  return path.join(opt.dir, bucket, UPLOADS);
}

/* DELETE /bucket/key?uploadId=X: forget the upload and its parts. */
function abortUpload(res, bucket, key, id) {
  const dir = path.join(uploadsDir(bucket), path.basename(id));
  let k;
  try {
    k = fs.readFileSync(path.join(dir, 'key'), 'utf8');
  } catch (e) {
    return sendError(res, 404, 'NoSuchUpload',
                     'The specified upload does not exist.');
  }
  if (k !== key) {
    return sendError(res, 404, 'NoSuchUpload', 'upload is for another key');
  }
  fs.rmSync(dir, { recursive: true, force: true });
  res.writeHead(204);
  res.end();
}

/* GET /bucket?uploads[&prefix=P]: s3rver keeps one folder per upload. */
function listUploads(res, bucket, q) {
  const prefix = q.prefix || '';
  let ids = [];
  try {
    ids = fs.readdirSync(uploadsDir(bucket));
  } catch (e) {
    /* no upload yet */
  }
  const rows = [];
  for (const id of ids) {
    const dir = path.join(uploadsDir(bucket), id);
    let key;
    let st;
    try {
      key = fs.readFileSync(path.join(dir, 'key'), 'utf8');
      st = fs.statSync(dir);
    } catch (e) {
      continue;
    }
    if (key.startsWith(prefix)) rows.push({ key, id, at: st.mtime });
  }
  rows.sort((x, y) => (x.key + x.id).localeCompare(y.key + y.id));
  const body = '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Bucket>${xmlEscape(bucket)}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix>` +
    '<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>' +
    rows.map(r => `<Upload><Key>${xmlEscape(r.key)}</Key>` +
             `<UploadId>${r.id}</UploadId>` +
             `<Initiated>${r.at.toISOString()}</Initiated></Upload>`).join('') +
    '</ListMultipartUploadsResult>';
  sendXml(res, 200, body);
}

function backend(method, p, headers, body) {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port: backendPort, method,
                             path: p, headers }, resolve);
    r.on('error', reject);
    r.end(body);
  });
}

function readAll(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on('data', c => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function xmlUnescape(s) {
  return s.replace(/&(lt|gt|amp|apos|quot);/g, (m, e) => ({
    lt: '<', gt: '>', amp: '&', apos: "'", quot: '"',
  })[e]);
}

/* GET /bucket?list-type=2: a V1 listing from a marker, told as V2 with the
 * last key (base64) as continuation token. */
async function listV2(res, bucket, q) {
  let max = Math.min(+(q['max-keys'] || 1000), 1000);
  if (opt['list-page']) max = Math.min(max, +opt['list-page']);
  const marker = q['continuation-token'] ?
    Buffer.from(q['continuation-token'], 'base64').toString('utf8') :
    (q['start-after'] || '');
  const v1 = `/${encodeURIComponent(bucket)}?max-keys=${max}` +
    `&prefix=${encodeURIComponent(q.prefix || '')}` +
    `&marker=${encodeURIComponent(marker)}`;
  const got = await backend('GET', v1, {});
  let body = (await readAll(got)).toString('utf8');
  if (got.statusCode !== 200) {
    res.writeHead(got.statusCode, { 'Content-Type': 'application/xml' });
    return res.end(body);
  }
  const keys = [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map(
    m => xmlUnescape(m[1]));
  let extra = `<KeyCount>${keys.length}</KeyCount>`;
  if (/<IsTruncated>true<\/IsTruncated>/.test(body) && keys.length) {
    const next = Buffer.from(keys[keys.length - 1]).toString('base64');
    extra += `<NextContinuationToken>${next}</NextContinuationToken>`;
  }
  body = body.replace(/<Marker>[^<]*<\/Marker>/, extra);
  res.writeHead(200, { 'Content-Type': 'application/xml',
                       'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/* PUT ?partNumber&uploadId with x-amz-copy-source: read the source range
 * from s3rver and store it as the part. */
async function uploadPartCopy(req, res, rawPath, rawQuery) {
  let src = decodeURIComponent(req.headers['x-amz-copy-source']);
  if (!src.startsWith('/')) src = '/' + src;
  const headers = {};
  const range = req.headers['x-amz-copy-source-range'];
  if (range) headers.range = range;
  const got = await backend('GET', encodeURI(src), headers);
  const data = await readAll(got);
  if (got.statusCode !== 200 && got.statusCode !== 206) {
    return sendError(res, got.statusCode, 'NoSuchKey', 'copy source missing');
  }
  const put = await backend('PUT', rawPath + '?' + rawQuery,
                            { 'content-length': data.length }, data);
  await readAll(put);
  if (put.statusCode !== 200) {
    return sendError(res, put.statusCode, 'InternalError', 'part failed');
  }
  sendXml(res, 200, '<CopyPartResult><ETag>' + xmlEscape(put.headers.etag) +
          '</ETag><LastModified>' + new Date().toISOString() +
          '</LastModified></CopyPartResult>');
}

function control(req, res, q) {
  if (req.url.startsWith('/__mfu/fault')) {
    faults.push({ method: q.method || '', word: q.word || '',
                  status: +(q.status || 500), count: +(q.count || 1) });
  } else if (req.url.startsWith('/__mfu/clear')) {
    faults.length = 0;
  }
  const body = JSON.stringify({ faults, stats });
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(body);
}

function takeFault(req, rawQuery) {
  for (const f of faults) {
    if (f.count > 0 && (!f.method || f.method === req.method) &&
        (!f.word || (rawQuery || '').split('&').some(
          w => w.split('=')[0] === f.word) ||
         (f.word === 'object' && !rawQuery))) {
      f.count--;
      return f.status;
    }
  }
  return 0;
}

async function handle(req, res) {
  const q0 = req.url.indexOf('?');
  const rawPath = q0 < 0 ? req.url : req.url.slice(0, q0);
  const rawQuery = q0 < 0 ? '' : req.url.slice(q0 + 1);
  const q = parseQuery(rawQuery);
  if (rawPath.startsWith('/__mfu/')) return control(req, res, q);
  stats.requests++;

  const body = await readAll(req);
  const bad = await verify(req, rawPath, rawQuery, body);
  if (bad) {
    stats.rejected++;
    console.error(`rejected ${req.method} ${req.url}: ${bad[1]} ${bad[2]}`);
    return sendError(res, bad[0], bad[1], bad[2]);
  }
  const fault = takeFault(req, rawQuery);
  if (fault) return sendError(res, fault, 'InternalError', 'injected fault');

  const vhost = (req.headers.host || '').startsWith(opt.bucket + '.');
  const fwdPath = vhost ? '/' + opt.bucket + rawPath : rawPath;
  const segs = fwdPath.split('/');
  const bucket = decodeURIComponent(segs[1] || '');
  const key = decodeURIComponent(segs.slice(2).join('/'));
  if (req.method === 'DELETE' && key && 'uploadId' in q) {
    return abortUpload(res, bucket, key, q.uploadId);
  }
  if (req.method === 'GET' && !key && 'uploads' in q) {
    return listUploads(res, bucket, q);
  }
  if (req.method === 'GET' && !key && q['list-type'] === '2') {
    return listV2(res, bucket, q);
  }
  if (req.method === 'PUT' && 'uploadId' in q &&
      req.headers['x-amz-copy-source']) {
    return uploadPartCopy(req, res, fwdPath, rawQuery);
  }

  const url = fwdPath + (rawQuery ? '?' + rawQuery : '');
  if (key) {
    return serialize(fwdPath, () => forward(req, res, url, body));
  }
  return forward(req, res, url, body);
}

async function forward(req, res, url, body) {
  const headers = Object.assign({}, req.headers);
  delete headers.authorization;   /* s3rver would try (and fail) itself */
  delete headers['transfer-encoding'];
  headers.host = `127.0.0.1:${backendPort}`; /* s3rver reads vhosts too */
  headers['content-length'] = body.length;
  const up = await backend(req.method, url, headers, body);
  const done = new Promise(resolve => {
    res.on('finish', resolve);
    res.on('close', resolve);
  });
  res.writeHead(up.statusCode, up.headers);
  up.pipe(res);
  await done;
}

async function main() {
  fs.mkdirSync(opt.dir, { recursive: true });
  const s3 = new S3rver({
    address: '127.0.0.1', port: 0, silent: true, directory: opt.dir,
    configureBuckets: [{ name: opt.bucket }],
  });
  const info = await s3.run();
  backendPort = info.port;
  const proxy = http.createServer((req, res) => {
    handle(req, res).catch(err => {
      console.error(err);
      if (!res.headersSent) sendError(res, 500, 'InternalError', String(err));
      else res.destroy();
    });
  });
  proxy.listen(+opt.port, '127.0.0.1', () => {
    process.stdout.write(`ready ${proxy.address().port}\n`);
  });
  const stop = () => {
    proxy.close();
    s3.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
