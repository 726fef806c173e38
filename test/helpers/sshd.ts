/** The loopback OpenSSH server lives with the scripts, since the sync benchmark uses it too. */
export * from '../../scripts/lib/loopback-sshd';
