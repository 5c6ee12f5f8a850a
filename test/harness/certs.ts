// Real certificates for security tests, made with openssl: a mesh root CA, server certificates with IP
// SANs, and workload/client certificates with SPIFFE URI SANs; plus a second, foreign CA.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface CertFiles {
  cert: string;
  key: string;
}

export interface Ca extends CertFiles {
  dir: string;
  name: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createCa(dir: string, name: string): Ca {
  fs.mkdirSync(dir, { recursive: true });
  const key = path.join(dir, `${name}-ca.key`);
  const cert = path.join(dir, `${name}-ca.pem`);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name} root CA`,
    ],
    dir,
  );
  return { dir, name, cert, key };
}

/** A leaf certificate signed by `ca`, with the given subject alternative names (e.g. IP:127.0.0.1, URI:spiffe://...). */
export function issue(ca: Ca, name: string, subjectAltNames: string[]): CertFiles {
  const key = path.join(ca.dir, `${name}.key`);
  const csr = path.join(ca.dir, `${name}.csr`);
  const cert = path.join(ca.dir, `${name}.pem`);
  const ext = path.join(ca.dir, `${name}.ext`);
  fs.writeFileSync(
    ext,
    `subjectAltName=${subjectAltNames.join(',')}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`,
  );
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      `/CN=${name}`,
    ],
    ca.dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      ext,
    ],
    ca.dir,
  );
  return { cert, key };
}

export function read(files: CertFiles): { cert: Buffer; key: Buffer } {
  return { cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) };
}
