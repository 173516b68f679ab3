//! A program on a pseudo-terminal, as a person at a terminal runs it: the terminal is its
//! stdin, stdout, stderr and controlling terminal (`setsid --ctty`), so prompts that read
//! `/dev/tty` without echo behave as they do for people. Tests read what the terminal shows
//! and type answers.

use std::fs::File;
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, ioctl_tiocgptpeer, openpt, unlockpt};
use rustix::termios::{LocalModes, tcgetattr};

const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Pty {
    terminal: File,
    child: Child,
    chunks: mpsc::Receiver<Vec<u8>>,
    /// Everything the terminal showed so far.
    pub screen: String,
}

impl Pty {
    /// Run `program args…` (built by the caller, environment and all) on a new terminal.
    pub fn spawn(mut command: Command) -> Self {
        let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
        let controller = openpt(flags).expect("open a pseudo-terminal");
        grantpt(&controller).expect("grantpt");
        unlockpt(&controller).expect("unlockpt");
        let user_side = ioctl_tiocgptpeer(&controller, OpenptFlags::RDWR | OpenptFlags::NOCTTY)
            .expect("open the terminal's user side");
        let user_side = File::from(user_side);
        let stdio = |f: &File| Stdio::from(f.try_clone().expect("dup the terminal"));
        let child = command
            .stdin(stdio(&user_side))
            .stdout(stdio(&user_side))
            .stderr(stdio(&user_side))
            .spawn()
            .expect("start the program on the terminal");
        drop(user_side);
        let terminal = File::from(controller);
        let mut reader = terminal.try_clone().expect("dup the terminal");
        let (send, chunks) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the program and its children have closed the terminal.
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                if send.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            terminal,
            child,
            chunks,
            screen: String::new(),
        }
    }

    /// Wait until the screen shows `text` after what earlier calls consumed; return the
    /// screen up to and including it.
    pub fn expect(&mut self, text: &str) -> String {
        let until = Instant::now() + WAIT;
        loop {
            if let Some(at) = self.screen.find(text) {
                let seen: String = self.screen.drain(..at + text.len()).collect();
                return seen;
            }
            let left = until.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.screen.push_str(&String::from_utf8_lossy(&chunk)),
                Err(e) => panic!(
                    "the terminal never showed {text:?} ({e}); it shows:\n{}",
                    self.screen
                ),
            }
        }
    }

    /// Type a line, as at the keyboard.
    pub fn type_line(&mut self, line: &str) {
        self.terminal
            .write_all(format!("{line}\r").as_bytes())
            .expect("type on the terminal");
    }

    /// Wait until the program has turned echo off (a hidden prompt), so typing is not shown.
    pub fn wait_for_hidden_input(&self) {
        let until = Instant::now() + WAIT;
        while tcgetattr(&self.terminal)
            .expect("read the terminal's modes")
            .local_modes
            .contains(LocalModes::ECHO)
        {
            assert!(Instant::now() < until, "the program never hid the input");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Wait for the program to exit; the rest of what the terminal showed.
    pub fn finish(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().expect("wait for the program");
        while let Ok(chunk) = self.chunks.recv_timeout(Duration::from_secs(5)) {
            self.screen.push_str(&String::from_utf8_lossy(&chunk));
        }
        (status, self.screen)
    }
}
