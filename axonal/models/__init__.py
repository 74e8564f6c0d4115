"""Reference models, built only from Axonal's public API (layer 8).

    from axonal.models import LeNet5, resnet20, VAE, RealNVP, RBM, CharLSTM

CNNs (LeNet-5, VGG, Inception / GoogLeNet-style, ResNet, DenseNet) and ensembles; recurrent models
(IRNN, character LMs, seq2seq with attention); unsupervised and generative models (autoencoders,
VAE, GAN / DCGAN, RealNVP and planar flows, RBM, DBN) and the PCA baseline. Each submodule can also
be imported on its own (`axonal.models.resnet`, ...).
"""
from .autoencoder import Autoencoder, DenoisingAutoencoder, ReconstructionTrainer, mlp_autoencoder
from .cnn import (
                  VGG,
                  DenseBlock,
                  DenseLayer,
                  DenseNet,
                  GoogLeNetSmall,
                  Inception,
                  LeNet5,
                  Transition,
                  vgg_features,
)
from .dbn import DBN, DBNClassifier
from .ensemble import Ensemble, average_probabilities, majority_vote
from .flows import AffineCoupling, FlowTrainer, PlanarFlow, RealNVP
from .gan import GAN, GANOptimizer, GANTrainer, dcgan, gan_optimizer, mlp_gan
from .irnn import IRNN, SequenceClassifier, identity_init_
from .pca import PCA
from .rbm import RBM, RBMTrainer
from .resnet import (
                  BasicBlock,
                  Bottleneck,
                  ResNet,
                  cifar_resnet,
                  resnet18,
                  resnet20,
                  resnet34,
                  resnet50,
)
from .rnn_lm import CharLSTM, CharTransformer, sample
from .seq2seq import Seq2Seq
from .vae import VAE, VAETrainer, conv_vae, mlp_vae

__all__ = ["DBN", "GAN", "IRNN", "PCA", "RBM", "VAE", "VGG", "AffineCoupling", "Autoencoder",
           "BasicBlock", "Bottleneck", "CharLSTM", "CharTransformer", "DBNClassifier",
           "DenoisingAutoencoder", "DenseBlock", "DenseLayer", "DenseNet", "Ensemble", "FlowTrainer",
           "GANOptimizer", "GANTrainer", "GoogLeNetSmall", "Inception", "LeNet5", "PlanarFlow",
           "RBMTrainer", "RealNVP", "ReconstructionTrainer", "ResNet", "Seq2Seq",
           "SequenceClassifier", "Transition", "VAETrainer", "average_probabilities", "cifar_resnet",
           "conv_vae", "dcgan", "gan_optimizer", "identity_init_", "majority_vote", "mlp_autoencoder",
           "mlp_gan", "mlp_vae", "resnet18", "resnet20", "resnet34", "resnet50", "sample",
           "vgg_features"]
