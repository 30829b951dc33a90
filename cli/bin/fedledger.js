#!/usr/bin/env node
require('../../scripts/register.js');
require('../src/main.ts');
