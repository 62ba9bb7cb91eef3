// `sonde <command>`: a thin dispatcher. Each command is a module in commands/ exporting
// `main(argv): Promise<number>` (the exit code), loaded only when asked for so that `sonde doctor`
// does not pay for the Collector core and `sonde validate` does not load libbpf.
const commands: Record<string, { module: string; summary: string }> = {
  run: { module: './commands/run.js', summary: 'run the agent (embedded default config, or --config FILE)' },
  validate: { module: './commands/validate.js', summary: 'check a config file without starting anything' },
  doctor: { module: './commands/doctor.js', summary: 'explain what this host supports and why capture would fail' },
  connections: { module: './commands/connections.js', summary: 'print TCP connections as they are seen' },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: sonde <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'sonde <command> --help' for a command's options.`;
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || name === 'help') {
  console.log(usage());
  process.exit(name ? 0 : 2);
}
const command = commands[name];
if (!command) {
  console.error(`sonde: unknown command "${name}"\n\n${usage()}`);
  process.exit(2);
}
const mod = (await import(command.module)) as { main(argv: string[]): Promise<number> };
process.exitCode = await mod.main(rest);
