// ffi-rs bindings to the few libbpf.so.1 calls Sonde uses for control (open/load/attach/maps) and
// to the native ring-buffer consumer for data. Pointers travel as I64 numbers (NULL = 0); Buffers
// (U8Array) are passed without copying, so C can write into them. Calls here are never per event.
import { DataType, define, open } from 'ffi-rs';
import { BpfError } from './errors.js';
import { findNativeLib, nativeLibCandidates } from './paths.js';

const I64 = DataType.I64;
const I32 = DataType.I32;
const U8A = DataType.U8Array;
const STR = DataType.String;

function bindLibbpf() {
  try {
    open({ library: 'libbpf', path: 'libbpf.so.1' });
  } catch (err) {
    throw new BpfError(`cannot load libbpf.so.1: ${(err as Error).message}`,
      'install libbpf: apt-get install libbpf1 (Debian/Ubuntu) or dnf install libbpf (Fedora/RHEL)', { cause: err });
  }
  return define({
    bpf_object__open_file: { library: 'libbpf', retType: I64, paramsType: [STR, I64], errno: true },
    bpf_object__load: { library: 'libbpf', retType: I32, paramsType: [I64] },
    bpf_object__close: { library: 'libbpf', retType: DataType.Void, paramsType: [I64] },
    bpf_object__next_map: { library: 'libbpf', retType: I64, paramsType: [I64, I64] },
    bpf_object__next_program: { library: 'libbpf', retType: I64, paramsType: [I64, I64] },
    bpf_object__find_program_by_name: { library: 'libbpf', retType: I64, paramsType: [I64, STR] },
    bpf_map__name: { library: 'libbpf', retType: STR, paramsType: [I64] },
    bpf_map__fd: { library: 'libbpf', retType: I32, paramsType: [I64] },
    bpf_map__set_initial_value: { library: 'libbpf', retType: I32, paramsType: [I64, U8A, I64] },
    bpf_map__set_max_entries: { library: 'libbpf', retType: I32, paramsType: [I64, I32] },
    bpf_map__max_entries: { library: 'libbpf', retType: I32, paramsType: [I64] },
    bpf_program__name: { library: 'libbpf', retType: STR, paramsType: [I64] },
    bpf_program__fd: { library: 'libbpf', retType: I32, paramsType: [I64] },
    bpf_program__set_log_buf: { library: 'libbpf', retType: I32, paramsType: [I64, U8A, I64] },
    bpf_program__set_autoload: { library: 'libbpf', retType: I32, paramsType: [I64, I32] },
    bpf_program__attach: { library: 'libbpf', retType: I64, paramsType: [I64], errno: true },
    bpf_program__attach_cgroup: { library: 'libbpf', retType: I64, paramsType: [I64, I32], errno: true },
    bpf_link__fd: { library: 'libbpf', retType: I32, paramsType: [I64] },
    bpf_link__destroy: { library: 'libbpf', retType: I32, paramsType: [I64] },
    bpf_map_lookup_elem: { library: 'libbpf', retType: I32, paramsType: [I32, U8A, U8A] },
    bpf_map_update_elem: { library: 'libbpf', retType: I32, paramsType: [I32, U8A, U8A, I64] },
    libbpf_num_possible_cpus: { library: 'libbpf', retType: I32, paramsType: [] },
    bpf_prog_get_next_id: { library: 'libbpf', retType: I32, paramsType: [I32, U8A] },
    bpf_prog_get_fd_by_id: { library: 'libbpf', retType: I32, paramsType: [I32] },
    bpf_link_get_next_id: { library: 'libbpf', retType: I32, paramsType: [I32, U8A] },
    bpf_obj_get_info_by_fd: { library: 'libbpf', retType: I32, paramsType: [I32, U8A, U8A] },
  });
}

export type Libbpf = ReturnType<typeof bindLibbpf>;
let libbpf: Libbpf | undefined;

/** The libbpf.so.1 bindings (loaded once). Throws a BpfError with a remedy when libbpf is missing. */
export function getLibbpf(): Libbpf {
  return (libbpf ??= bindLibbpf());
}

function bindNative(path: string) {
  open({ library: 'sonde_ringbuf', path });
  return define({
    sonde_rb_open: { library: 'sonde_ringbuf', retType: I64, paramsType: [I32, I64] },
    sonde_rb_drain: { library: 'sonde_ringbuf', retType: I64, paramsType: [I64, U8A, I64] },
    sonde_rb_pending: { library: 'sonde_ringbuf', retType: I64, paramsType: [I64] },
    sonde_rb_close: { library: 'sonde_ringbuf', retType: DataType.Void, paramsType: [I64] },
  });
}

export type NativeRingbuf = ReturnType<typeof bindNative>;
let native: NativeRingbuf | undefined;

/** The native ring-buffer consumer (built by scripts/build.mjs). Throws a BpfError when it is missing. */
export function getNativeRingbuf(): NativeRingbuf {
  if (native) return native;
  const path = findNativeLib();
  if (!path) {
    throw new BpfError(`native ring-buffer consumer not found (looked in ${nativeLibCandidates().join(', ')})`,
      'build it: npm run build (needs gcc: apt-get install gcc)');
  }
  try {
    native = bindNative(path);
  } catch (err) {
    throw new BpfError(`cannot load ${path}: ${(err as Error).message}`, 'rebuild it: rm -rf dist/native && npm run build', { cause: err });
  }
  return native;
}
