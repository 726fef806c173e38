/**
 * The transport of each target type: adding a protocol is one file in sync/ and
 * one entry here (plus its keys in the configuration schema).
 */
import type { SyncTargetConfig } from '../config/schema';
import { SftpTransport } from './sftp.transport';
import { S3Transport } from './s3.transport';
import type { Transport, TransportOptions } from './transport';

export function createTransport(target: SyncTargetConfig, options: TransportOptions): Transport {
  switch (target.type) {
    case 'sftp':
      return new SftpTransport(target, options);
    case 's3':
      return new S3Transport(target, options);
  }
}
