/**
 * What every command shares: options, loading the config, printing, and errors
 * that map to the exit codes of the contract (0 done, 1 failed, 2 bad usage or config).
 */
import type { Command } from 'commander';
import os from 'node:os';
import { configFileFrom, loadConfig, type LoadedConfig } from '../config/load';

export interface CommonOptions {
  config?: string;
  json?: boolean;
}

/** A failure with the exit code it deserves; the message is printed as is. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

export function withConfigOption(cmd: Command): Command {
  return cmd.option('-c, --config <file>', 'configuration file (default: $LAPSEBOX_CONFIG or /etc/lapsebox/lapsebox.yaml)');
}

export function withJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print machine-readable JSON');
}

export function commonOptions(cmd: Command): CommonOptions {
  return cmd.optsWithGlobals<CommonOptions>();
}

export function loadFor(cmd: Command): LoadedConfig {
  return loadConfig(configFileFrom(commonOptions(cmd).config));
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: Output = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

export function printJson(io: Output, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** Left-aligned columns for people; JSON is there for scripts. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new CliError('--password-stdin expects the password on standard input, e.g.: printf %s "$PASSWORD" | lapsebox users add ...', 2);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Who the audit trail names for changes made from the command line: `cli:<login>` (the sudo user's, under sudo). */
export function cliActor(): { actor: string; address: string } {
  let login = 'unknown';
  try {
    login = os.userInfo().username;
  } catch {
    /* no passwd entry (containers): keep "unknown" */
  }
  return { actor: `cli:${process.env['SUDO_USER'] ?? login}`, address: 'cli' };
}
