// Speaks the IVR prompts with espeak-ng into 8 kHz WAV files (run at install;
// only prompts whose text changed are remade).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROMPT_TEXTS, promptFiles, type PromptName } from '../gateway/media/prompts.ts';

const dir = path.resolve(process.argv[2] ?? process.env.PROMPTS_DIR ?? '.cache/prompts');
fs.mkdirSync(dir, { recursive: true });
let made = 0;
for (const [name, text] of Object.entries(PROMPT_TEXTS) as [PromptName, string][]) {
  const files = promptFiles(dir, name);
  if (fs.existsSync(files.wav) && fs.existsSync(files.text) && fs.readFileSync(files.text, 'utf8') === text) continue;
  const spoken = execFileSync('espeak-ng', ['-v', 'en-us', '-s', '155', '--stdout', text]);
  execFileSync('sox', ['-v', '0.8', '-t', 'wav', '-', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', files.wav], { input: spoken });
  fs.writeFileSync(files.text, text);
  made++;
}
console.log(`prompts in ${dir}: ${made} made, ${Object.keys(PROMPT_TEXTS).length - made} up to date`);
