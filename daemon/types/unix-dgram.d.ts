/** The part of unix-dgram (Unix datagram sockets, which Node's dgram lacks) that lapsebox uses. */
declare module 'unix-dgram' {
  import type { EventEmitter } from 'node:events';

  export interface UnixDgramSocket extends EventEmitter {
    bind(path: string): void;
    connect(path: string): void;
    /** Unconnected: to `path`. The callback gets an error, or a "congestion" error when the receiver's queue is full. */
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void;
    close(): void;
    on(event: 'message', listener: (message: Buffer, info: { size: number; path?: string }) => void): this;
    on(event: 'error', listener: (err: NodeJS.ErrnoException) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export function createSocket(type: 'unix_dgram', listener?: (message: Buffer) => void): UnixDgramSocket;
}
