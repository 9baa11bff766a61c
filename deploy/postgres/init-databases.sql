-- One database per service: no service reads another's tables.
CREATE DATABASE ifr;
CREATE DATABASE cdf;
CREATE DATABASE contract;
CREATE DATABASE notification;
CREATE DATABASE console;
