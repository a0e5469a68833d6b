//! A cursor that reads small numbers from fuzz input, yielding zeros once the input runs out.

/// Reads operation choices and parameters from a byte string.
#[derive(Debug, Clone)]
pub struct ByteSource<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> ByteSource<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        ByteSource { data, at: 0 }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }

    /// The next byte, or 0 past the end.
    pub fn u8(&mut self) -> u8 {
        let byte = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte
    }

    /// The next two bytes as a little-endian number.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// A number below `n` (which must be positive).
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.u16()) % n.max(1)
    }

    /// Up to `max` raw bytes.
    pub fn slice(&mut self, max: usize) -> &'a [u8] {
        let len = usize::from(self.u8()).min(max);
        let start = self.at.min(self.data.len());
        let end = (start + len).min(self.data.len());
        self.at = start + len;
        &self.data[start..end]
    }
}
