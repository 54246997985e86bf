use crate::TlsError;
use heapless::{CapacityError, Vec};

#[derive(Debug, Copy, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParseError {
    InsufficientBytes,
    InsufficientSpace,
    InvalidData,
}

pub struct ParseBuffer<'b> {
    pos: usize,
    buffer: &'b [u8],
}

impl<'b> From<&'b [u8]> for ParseBuffer<'b> {
    fn from(val: &'b [u8]) -> Self {
        ParseBuffer::new(val)
    }
}

impl<'b, const N: usize> From<ParseBuffer<'b>> for Result<Vec<u8, N>, CapacityError> {
    fn from(val: ParseBuffer<'b>) -> Self {
        Vec::from_slice(&val.buffer[val.pos..])
    }
}

impl<'b> ParseBuffer<'b> {
    pub fn new(buffer: &'b [u8]) -> Self {
        Self { pos: 0, buffer }
    }

    pub fn is_empty(&self) -> bool {
        self.pos == self.buffer.len()
    }

    pub fn remaining(&self) -> usize {
        self.buffer.len() - self.pos
    }

    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn as_slice(&self) -> &'b [u8] {
        self.buffer
    }

    /// The next `len` bytes, consumed; `InsufficientBytes` (nothing consumed) when fewer are
    /// left. Every read below goes through this one bounds check.
    #[inline(never)]
    fn take(&mut self, len: usize) -> Result<&'b [u8], ParseError> {
        let bytes = self
            .pos
            .checked_add(len)
            .and_then(|end| self.buffer.get(self.pos..end))
            .ok_or(ParseError::InsufficientBytes)?;
        self.pos += len;
        Ok(bytes)
    }

    /// The next `len` bytes (at most 4) as a big-endian number.
    fn read_be(&mut self, len: usize) -> Result<u32, ParseError> {
        Ok(self
            .take(len)?
            .iter()
            .fold(0, |value, byte| (value << 8) | u32::from(*byte)))
    }

    pub fn slice(&mut self, len: usize) -> Result<ParseBuffer<'b>, ParseError> {
        self.take(len).map(ParseBuffer::new)
    }

    pub fn read_u8(&mut self) -> Result<u8, ParseError> {
        self.read_be(1).map(|value| value as u8)
    }

    pub fn read_u16(&mut self) -> Result<u16, ParseError> {
        self.read_be(2).map(|value| value as u16)
    }

    pub fn read_u24(&mut self) -> Result<u32, ParseError> {
        self.read_be(3)
    }

    pub fn read_u32(&mut self) -> Result<u32, ParseError> {
        self.read_be(4)
    }

    pub fn fill(&mut self, dest: &mut [u8]) -> Result<(), ParseError> {
        dest.copy_from_slice(self.take(dest.len())?);
        Ok(())
    }

    pub fn copy<const N: usize>(
        &mut self,
        dest: &mut Vec<u8, N>,
        num_bytes: usize,
    ) -> Result<(), ParseError> {
        let space = dest.capacity() - dest.len();
        if space < num_bytes {
            error!(
                "Insufficient space in destination buffer. Space: {} required: {}",
                space, num_bytes
            );
            Err(ParseError::InsufficientSpace)
        } else if self.pos + num_bytes <= self.buffer.len() {
            dest.extend_from_slice(&self.buffer[self.pos..self.pos + num_bytes])
                .map_err(|_| {
                    error!(
                        "Failed to extend destination buffer. Space: {} required: {}",
                        space, num_bytes
                    );
                    ParseError::InsufficientSpace
                })?;
            self.pos += num_bytes;
            Ok(())
        } else {
            Err(ParseError::InsufficientBytes)
        }
    }

    pub fn read_list<T, const N: usize>(
        &mut self,
        data_length: usize,
        read: impl Fn(&mut ParseBuffer<'b>) -> Result<T, ParseError>,
    ) -> Result<Vec<T, N>, ParseError> {
        let mut result = Vec::new();

        let mut data = self.slice(data_length)?;
        while !data.is_empty() {
            result.push(read(&mut data)?).map_err(|_| {
                error!("Failed to store parse result");
                ParseError::InsufficientSpace
            })?;
        }

        Ok(result)
    }
}

impl From<ParseError> for TlsError {
    fn from(e: ParseError) -> Self {
        TlsError::ParseError(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_endian_reads_and_their_bounds() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        let mut buf = ParseBuffer::new(&data);
        assert_eq!(buf.read_u8().ok(), Some(1));
        assert_eq!(buf.read_u16().ok(), Some(0x0203));
        assert_eq!(buf.read_u24().ok(), Some(0x04_0506));
        assert_eq!(buf.read_u32().ok(), Some(0x0708_090a));
        assert_eq!(buf.remaining(), 1);

        // Too few bytes left: refused, nothing consumed.
        assert!(matches!(buf.read_u16(), Err(ParseError::InsufficientBytes)));
        assert!(matches!(buf.read_u32(), Err(ParseError::InsufficientBytes)));
        assert!(matches!(buf.slice(2), Err(ParseError::InsufficientBytes)));
        let mut two = [0; 2];
        assert!(matches!(
            buf.fill(&mut two),
            Err(ParseError::InsufficientBytes)
        ));
        assert!(matches!(
            buf.slice(usize::MAX),
            Err(ParseError::InsufficientBytes)
        ));
        assert_eq!(buf.remaining(), 1);

        let mut one = [0; 1];
        buf.fill(&mut one).unwrap();
        assert_eq!(one, [11]);
        assert!(buf.is_empty());
        assert!(buf.slice(0).is_ok_and(|s| s.is_empty()));
        assert!(matches!(buf.read_u8(), Err(ParseError::InsufficientBytes)));
    }
}
