//! Counts lines, words and bytes of the files named on the command line, or of standard input.
use std::io::{self, Read};
use std::{env, fs, process};

fn count(text: &str) -> (usize, usize, usize) {
    (text.lines().count(), text.split_whitespace().count(), text.len())
}

fn main() {
    let paths: Vec<String> = env::args().skip(1).collect();
    if paths.is_empty() {
        let mut text = String::new();
        if let Err(e) = io::stdin().read_to_string(&mut text) {
            eprintln!("cli-tool: cannot read standard input: {e}");
            process::exit(1);
        }
        let (l, w, b) = count(&text);
        println!("{l:>8} {w:>8} {b:>8}");
        return;
    }
    for path in paths {
        match fs::read_to_string(&path) {
            Ok(text) => {
                let (l, w, b) = count(&text);
                println!("{l:>8} {w:>8} {b:>8} {path}");
            }
            Err(e) => eprintln!("cli-tool: {path}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_lines_words_bytes() {
        assert_eq!(count("one two\nthree\n"), (2, 3, 14));
    }
}
