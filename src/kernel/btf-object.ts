/** A BTF blob loaded into the kernel (BPF_BTF_LOAD), owned by its fd. */
import { BpfCmd, BtfLoadAttr } from './bpf-attr.js';
import { BpfError } from './errors.js';
import { stableBuffer } from './layout.js';
import { OwnedFd } from './fd.js';
import { tryBpf } from './syscall.js';

const LOG_SIZE = 1 << 20;

export class KernelBtf implements Disposable {
  readonly #fd: OwnedFd;

  private constructor(fd: number) {
    this.#fd = new OwnedFd(fd);
  }

  /**
   * Load BTF bytes. On rejection the kernel's BTF log is included in the error, so a
   * malformed type is named rather than reported as a bare EINVAL.
   */
  static load(bytes: Uint8Array): KernelBtf {
    const btf = stableCopy(bytes);
    const first = tryBpf(BpfCmd.BTF_LOAD, BtfLoadAttr, { btf, btf_size: btf.length });
    if (first.result >= 0) return new KernelBtf(first.result);
    // Load again with a log to say why.
    const log = stableBuffer(LOG_SIZE);
    const again = tryBpf(BpfCmd.BTF_LOAD, BtfLoadAttr, {
      btf,
      btf_size: btf.length,
      btf_log_buf: log,
      btf_log_size: log.length,
      btf_log_level: 1,
    });
    if (again.result >= 0) return new KernelBtf(again.result);
    const text = new TextDecoder().decode(log.subarray(0, Math.max(0, log.indexOf(0)))).trim();
    throw new BpfError('BTF_LOAD', -again.result, { hint: 'the kernel rejected the BTF' }, text ? `\nBTF log:\n${text}` : '');
  }

  get fd(): number {
    return this.#fd.fd;
  }

  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Bytes the kernel may read during the call, in a buffer of their own. */
function stableCopy(bytes: Uint8Array): Uint8Array {
  const out = stableBuffer(bytes.length);
  out.set(bytes);
  return out;
}
