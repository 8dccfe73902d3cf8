# Build switches (mosquitto-style). Override on the command line: make WITH_XLSX=no
PREFIX      ?= /usr/local
CC          ?= cc
WITH_XLSX   ?= yes
WITH_POSTGRES ?= no
# DEVELOPER=1 turns warnings into errors (CI sets it)
DEVELOPER   ?=
# SANITIZE=address,undefined builds into build-san/ with the sanitizers on
SANITIZE    ?=
# XGBoost ships no pkg-config file: its link flags (the Debian package libxgboost-dev)
XGBOOST_LIBS ?= -lxgboost
