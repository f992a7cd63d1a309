/**
 * Compiling WGSL kernels into compute pipelines, with errors that name the file and line.
 *
 * Every kernel is `common.wgsl`, its own file and any files appended to it (shared helpers, the
 * Chunk type), joined by newlines; compile errors name the file and line they fall in. Binding
 * layouts are explicit (an 'auto' layout cannot have dynamic offsets, DESIGN.md field notes) and
 * follow one convention:
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

/** A WGSL file of a kernel's source: its name, for errors, and its text. */
export interface SourceFile {
  readonly file: string;
  readonly text: string;
}

/** A kernel's files from (name without `.wgsl`, text) pairs, the kernel's own first. */
export function wgslFiles(...files: [name: string, text: string][]): SourceFile[] {
  return files.map(([name, text]) => ({ file: `${name}.wgsl`, text }));
}

const STORAGE_DECL = /@group\(0\)\s*@binding\((\d+)\)\s*var<storage,\s*(read|read_write)>/g;

/** Storage buffers a kernel binds, counted from its declarations (see the header). */
export function storageBufferCount(source: KernelSource): number {
  const code = typeof source === 'string' ? source : source.files.map((f) => f.text).join('\n');
  return code.match(STORAGE_DECL)?.length ?? 0;
}

/** The layout of group 1: the Params uniform, at a dynamic offset into the uniform ring. */
export function paramsLayout(device: GPUDevice): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label: 'params',
    entries: [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } }],
  });
}

/**
 * Compiles `common.wgsl` + `source` (entry point `main`) into a pipeline: the text of the file
 * `name`, or a list of files, the kernel's own first. Throws KernelCompileError with every error
 * message of the compiler, each located in its file.
 */
export async function compileKernel(
  device: GPUDevice,
  name: string,
  source: string | readonly SourceFile[],
  params: GPUBindGroupLayout = paramsLayout(device),
  constants: Record<string, number> = {},
  enable: readonly string[] = [],
): Promise<Kernel> {
  const files = typeof source === 'string' ? [{ file: name, text: source }] : source;
  device.pushErrorScope('validation');
  let scope: Promise<GPUError | null>;
  let made: ReturnType<typeof kernelModule>;
  try {
    made = kernelModule(device, name, files, params, enable);
  } finally {
    // Popped at once, before any await, so that kernels compiled concurrently keep separate scopes.
    scope = device.popErrorScope();
  }
  const { module, storageLayout, layout } = made;

  const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  if (errors.length > 0) {
    throw new KernelCompileError(`${name} failed to compile:\n${errors.map(locate([{ file: 'common.wgsl', text: commonSource }, ...files])).join('\n')}`);
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

/**
 * compileKernel without waiting, for a kernel compiled where it is first used: a compile error
 * reaches the device as an uncaptured one (GpuDevice.throwUncaptured, at the next sync) instead of
 * a located KernelCompileError, so the tests compile every such kernel with compileKernels too.
 */
export function compileKernelNow(device: GPUDevice, name: string, source: KernelSource, params: GPUBindGroupLayout): Kernel {
  const s = typeof source === 'string' ? { files: [{ file: name, text: source }] } : source;
  const { module, storageLayout, layout } = kernelModule(device, name, s.files, params, s.enable ?? []);
  const pipeline = device.createComputePipeline({ label: name, layout, compute: { module, entryPoint: 'main', constants: s.constants ?? {} } });
  return { name, pipeline, storageLayout };
}

/** A kernel's shader module (`common.wgsl` + its files) and its pipeline layout. */
function kernelModule(device: GPUDevice, name: string, files: readonly SourceFile[], params: GPUBindGroupLayout, enable: readonly string[]) {
  const code = files.map((f) => f.text).join('\n');
  const storageTypes = storageBindings(name, code);
  // The enable directives must open the module: they share its first line, which keeps the line numbers.
  const directives = enable.map((e) => `enable ${e}; `).join('');
  const module = device.createShaderModule({ label: name, code: `${directives}${commonSource}\n${code}` });
  const storageLayout = device.createBindGroupLayout({
    label: name,
    entries: storageTypes.map((type, binding) => ({ binding, visibility: GPUShaderStage.COMPUTE, buffer: { type } })),
  });
  const layout = device.createPipelineLayout({ label: name, bindGroupLayouts: [storageLayout, params] });
  return { module, storageLayout, layout };
}

/**
 * The buffer type of each group-0 binding, in binding order. Declarations may come in any order
 * and from any of a kernel's files (a file of helpers may declare the inputs they read), but the
 * numbers must run 0, 1, 2, ... without a gap or a repeat.
 */
function storageBindings(name: string, source: string): GPUBufferBindingType[] {
  const types: GPUBufferBindingType[] = [];
  for (const [, binding, access] of source.matchAll(STORAGE_DECL)) {
    const b = Number(binding);
    if (types[b] !== undefined) throw new KernelCompileError(`${name}: group 0 @binding(${b}) is declared twice`);
    types[b] = access === 'read' ? 'read-only-storage' : 'storage';
  }
  const missing = types.findIndex((t) => t === undefined); // findIndex visits the holes too
  if (missing >= 0) throw new KernelCompileError(`${name}: group 0 bindings must be numbered 0, 1, 2, ... without gaps; @binding(${missing}) is missing`);
  return types;
}

/** `file [line:col] message`, with the line counted in the file of `files` (joined by newlines) it falls in. */
function locate(files: readonly SourceFile[]): (m: GPUCompilationMessage) => string {
  return (m) => {
    let line = m.lineNum;
    let i = 0;
    // A file of k newlines spans k + 1 lines of the joined text: the joining newline ends its last.
    for (let lines = files[0].text.split('\n').length; line > lines && i < files.length - 1; lines = files[++i].text.split('\n').length) {
      line -= lines;
    }
    return `  ${files[i].file} [${line}:${m.linePos}] ${m.message}`;
  };
}

/**
 * A kernel: its file's WGSL, or its files (its own first, then those appended to it) with values
 * for its `override` constants, a specialisation the compiler folds branches on (a switch on a
 * uniform op code made tanh 1.5x slower on lavapipe), and the WGSL extensions it enables (the
 * device must have the features).
 */
export type KernelSource = string | { files: readonly SourceFile[]; constants?: Record<string, number>; enable?: readonly string[] };

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
      : compileKernel(device, s.files[0].file, s.files, params, s.constants, s.enable);
  };
  const results = await Promise.allSettled(names.map(compile));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failures.length > 0) throw new KernelCompileError(failures.join('\n'));
  return new Map(names.map((name, i) => [name, (results[i] as PromiseFulfilledResult<Kernel>).value]));
}
