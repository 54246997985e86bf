#![no_std]
#![doc = "embedded-mqtts (crate docs are written at the end of the first milestone)"]

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "rsa")]
extern crate alloc;

pub mod packet;
pub mod topic;
pub mod tls;
