/**
 * Compiling WGSL kernels into compute pipelines, with errors that name the file and line.
 *
 * Every kernel is `common.wgsl` + its own file, joined by a newline. Binding layouts are explicit
 * (an 'auto' layout cannot have dynamic offsets, DESIGN.md field notes) and follow one convention:
 * group 0 holds storage buffers, read-only ones declared `var<storage, read>` and outputs
 * `var<storage, read_write>`; group 1 binding 0 is the `Params` uniform, addressed by a dynamic
 * offset into the uniform ring. The storage bindings are read from the source's declarations, so
 * the shader file stays the single description of its interface.
 */
import commonSource from '../../../shaders/common.wgsl';

/** A shader failed to compile or validate; the message names the file and `[line:col]`. */
export class KernelCompileError extends Error {
  override name = 'KernelCompileError';
}

export interface Kernel {
  readonly name: string;
  readonly pipeline: GPUComputePipeline;
  /** Layout of group 0: one storage buffer per binding, in binding order. */
  readonly storageLayout: GPUBindGroupLayout;
}

/** Lines of common.wgsl before a kernel's first line. */
const PREFIX_LINES = commonSource.split('\n').length;

const STORAGE_DECL = /@group\(0\)\s*@binding\((\d+)\)\s*var<storage,\s*(read|read_write)>/g;

/** The layout of group 1: the Params uniform, at a dynamic offset into the uniform ring. */
export function paramsLayout(device: GPUDevice): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label: 'params',
    entries: [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } }],
  });
}

/**
 * Compiles `common.wgsl + source` (entry point `main`) into a pipeline. `name` is the kernel's
 * file name, used in errors. Throws KernelCompileError with every error message of the compiler.
 */
export async function compileKernel(
  device: GPUDevice,
  name: string,
  source: string,
  params: GPUBindGroupLayout = paramsLayout(device),
  constants: Record<string, number> = {},
): Promise<Kernel> {
  const storageTypes = storageBindings(name, source);
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label: name, code: `${commonSource}\n${source}` });
  const storageLayout = device.createBindGroupLayout({
    label: name,
    entries: storageTypes.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })),
  });
  const layout = device.createPipelineLayout({ label: name, bindGroupLayouts: [storageLayout, params] });
  // Popped at once, before any await, so that kernels compiled concurrently keep separate scopes.
  const scope = device.popErrorScope();

  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  if (errors.length > 0) {
    throw new KernelCompileError(`${name} failed to compile:\n${errors.map(locate(name)).join('\n')}`);
  }
  const error = await scope;
  if (error) throw new KernelCompileError(`${name}: ${error.message}`);
  try {
    const pipeline = await device.createComputePipelineAsync({ label: name, layout, compute: { module, entryPoint: 'main', constants } });
    return { name, pipeline, storageLayout };
  } catch (e) {
    throw new KernelCompileError(`${name}: pipeline creation failed: ${(e as Error).message}`);
  }
}

/** The buffer type of each group-0 binding, checked to be numbered 0, 1, 2, ... */
function storageBindings(name: string, source: string): GPUBufferBindingType[] {
  const types: GPUBufferBindingType[] = [];
  for (const [, binding, access] of source.matchAll(STORAGE_DECL)) {
    if (Number(binding) !== types.length) {
      throw new KernelCompileError(`${name}: group 0 bindings must be numbered 0, 1, 2, ... in order; found @binding(${binding}) at position ${types.length}`);
    }
    types.push(access === 'read' ? 'read-only-storage' : 'storage');
  }
  return types;
}

/** `[line:col] message`, with the line counted in the kernel's own file (or in common.wgsl). */
function locate(name: string): (m: GPUCompilationMessage) => string {
  return (m) => {
    const inKernel = m.lineNum > PREFIX_LINES;
    const line = inKernel ? m.lineNum - PREFIX_LINES : m.lineNum;
    return `  ${inKernel ? name : 'common.wgsl'} [${line}:${m.linePos}] ${m.message}`;
  };
}

/**
 * A kernel's WGSL, or a specialisation of a file by its `override` constants: the compiler then
 * folds branches on them (a switch on a uniform op code made tanh 1.5x slower on lavapipe).
 */
export type KernelSource = string | { file: string; source: string; constants: Record<string, number> };

/**
 * Compiles `shaders/<name>.wgsl` for every entry of `sources` concurrently; if any fail, throws one
 * KernelCompileError listing every broken kernel. The result is the pipeline cache, keyed by name.
 */
export async function compileKernels<K extends string>(
  device: GPUDevice,
  sources: Readonly<Record<K, KernelSource>>,
  params: GPUBindGroupLayout,
): Promise<Map<K, Kernel>> {
  const names = Object.keys(sources) as K[];
  const compile = (name: K) => {
    const s = sources[name];
    return typeof s === 'string'
      ? compileKernel(device, `${name}.wgsl`, s, params)
      : compileKernel(device, `${s.file}.wgsl`, s.source, params, s.constants);
  };
  const results = await Promise.allSettled(names.map(compile));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failures.length > 0) throw new KernelCompileError(failures.join('\n'));
  return new Map(names.map((name, i) => [name, (results[i] as PromiseFulfilledResult<Kernel>).value]));
}
