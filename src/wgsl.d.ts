/** WGSL files are imported as text (esbuild `loader: { '.wgsl': 'text' }`, and the vitest plugin). */
declare module '*.wgsl' {
  const source: string;
  export default source;
}
