/**
 * A small data disk for the full-disk tests: a size-limited tmpfs mounted for
 * the test where the machine allows it (root, CAP_SYS_ADMIN), else a plain
 * folder with a disk probe that sees a disk of `sizeMB` (what the folder holds
 * counts as used). Tests say which one they ran on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { DiskProbe } from '../../daemon/storage/retention';
import { tempDir } from './env';

export interface SmallDisk {
  dir: string;
  /** 'tmpfs': a real file system of that size; 'probe': an injected disk-usage probe. */
  kind: 'tmpfs' | 'probe';
  /** Only for 'probe'. */
  probe?: DiskProbe;
  free(): Promise<number>;
  /** Writes a file of `bytes` so that the disk has about `leaveBytes` free; returns its path. */
  fillTo(leaveBytes: number): Promise<string>;
  cleanup(): void;
}

export function smallDisk(sizeMB: number): SmallDisk {
  const base = tempDir('lapsebox-disk-');
  const dir = path.join(base.dir, 'mnt');
  fs.mkdirSync(dir);
  let kind: SmallDisk['kind'] = 'tmpfs';
  try {
    // LAPSEBOX_TEST_NO_MOUNT=1 runs the fallback where mounting would work.
    if (process.env['LAPSEBOX_TEST_NO_MOUNT'] === '1') throw new Error('mount disabled');
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMB}m,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch {
    kind = 'probe';
  }
  const total = sizeMB * 1024 * 1024;
  const probe: DiskProbe | undefined = kind === 'probe' ? async () => ({ totalBytes: total, freeBytes: Math.max(0, total - usedBytes(dir)) }) : undefined;
  const free = async () => {
    if (probe) return (await probe(dir)).freeBytes;
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  };
  let n = 0;
  return {
    dir,
    kind,
    ...(probe ? { probe } : {}),
    free,
    async fillTo(leaveBytes) {
      const file = path.join(dir, `ballast-${n++}`);
      const size = Math.max(0, (await free()) - leaveBytes);
      const fd = fs.openSync(file, 'w');
      // Real blocks (not a sparse file): tmpfs counts what is written.
      const chunk = Buffer.alloc(1024 * 1024, 1);
      for (let left = size; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
      fs.closeSync(fd);
      return file;
    },
    cleanup() {
      if (kind === 'tmpfs') {
        try {
          execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
        } catch {
          // Left mounted only if something still holds it; the folder is in the temp area.
        }
      }
      base.cleanup();
    },
  };
}

/** Bytes of the regular files under a folder (the probe's idea of "used"). */
function usedBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    try {
      total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
    } catch {
      // Removed meanwhile.
    }
  }
  return total;
}
