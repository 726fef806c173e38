/** The loopback S3 server (Swift with s3api) lives with the scripts, since the sync benchmark uses it too. */
export * from '../../scripts/lib/loopback-s3';
