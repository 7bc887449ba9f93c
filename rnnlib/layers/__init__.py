"""rnnlib.layers: the layers of the course, with Keras 3's names, arguments and weights."""
from ..engine import InputLayer, Layer
from .bidirectional import Bidirectional
from .core import Dense, Dropout, Flatten, RepeatVector, Reshape
from .embedding import Embedding, Masking
from .gru import GRU, GRUCell
from .lstm import LSTM, LSTMCell
from .merging import Add, Concatenate, add, concatenate
from .rnn import RNN, Cell
from .simple_rnn import SimpleRNN, SimpleRNNCell
from .time_distributed import TimeDistributed

__all__ = [
    "Layer", "InputLayer", "RNN", "Cell",
    "SimpleRNN", "SimpleRNNCell", "GRU", "GRUCell", "LSTM", "LSTMCell",
    "Bidirectional", "Dense", "Reshape", "Add", "Concatenate", "add", "concatenate",
    "Embedding", "Masking", "TimeDistributed", "RepeatVector", "Flatten", "Dropout",
]
