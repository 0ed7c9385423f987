//! Plain row-major tensors: the shapes the model and the .npy files share.

/// A row-major tensor with up to four dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

impl<T: Copy + Default> Tensor<T> {
    pub fn zeros(shape: &[usize]) -> Tensor<T> {
        Tensor {
            shape: shape.to_vec(),
            data: vec![T::default(); shape.iter().product()],
        }
    }
}

impl<T> Tensor<T> {
    /// Wrap `data`; panics if its length is not the product of `shape`
    /// (a programming error, not a user one: user data is checked by the
    /// .npy reader).
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Tensor<T> {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "tensor shape/data mismatch"
        );
        Tensor { shape, data }
    }

    /// Rows and columns of a 2-D tensor.
    pub fn dims2(&self) -> Option<(usize, usize)> {
        match self.shape[..] {
            [r, c] => Some((r, c)),
            _ => None,
        }
    }

    /// Dimensions of a 4-D tensor.
    pub fn dims4(&self) -> Option<[usize; 4]> {
        match self.shape[..] {
            [a, b, c, d] => Some([a, b, c, d]),
            _ => None,
        }
    }

    pub fn row(&self, r: usize) -> &[T] {
        let c = self.shape[self.shape.len() - 1];
        &self.data[r * c..(r + 1) * c]
    }

    /// Borrow as a [`View`].
    pub fn view(&self) -> View<'_, T> {
        View {
            shape: &self.shape,
            data: &self.data,
        }
    }
}

/// A borrowed row-major tensor: lets callers that already hold the data in
/// memory they do not own (a NumPy array) run the model without a copy.
#[derive(Debug, Clone, Copy)]
pub struct View<'a, T> {
    pub shape: &'a [usize],
    pub data: &'a [T],
}

impl<'a, T> View<'a, T> {
    /// Wrap `data`; `None` if its length is not the product of `shape`.
    pub fn new(shape: &'a [usize], data: &'a [T]) -> Option<View<'a, T>> {
        (shape.iter().product::<usize>() == data.len()).then_some(View { shape, data })
    }

    pub fn dims2(&self) -> Option<(usize, usize)> {
        match self.shape {
            [r, c] => Some((*r, *c)),
            _ => None,
        }
    }

    pub fn dims4(&self) -> Option<[usize; 4]> {
        match self.shape {
            [a, b, c, d] => Some([*a, *b, *c, *d]),
            _ => None,
        }
    }

    pub fn row(&self, r: usize) -> &'a [T] {
        let c = self.shape[self.shape.len() - 1];
        &self.data[r * c..(r + 1) * c]
    }
}

/// `M x K` activations.
pub type MatU8 = Tensor<u8>;
/// `N x K` weights.
pub type MatI8 = Tensor<i8>;
/// `M x N` results.
pub type MatI32 = Tensor<i32>;
