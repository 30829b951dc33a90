import type { INestMicroservice, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JetStreamExceptionFilter } from './exception-filter';
import { JetStreamServer, type JetStreamServerOptions } from './server';

/**
 * Creates a NestJS microservice on the JetStream transport with the filter that keeps handler
 * errors intact for retry logs and dead-letter reasons. Call `listen()` on the result.
 */
export async function createJetStreamMicroservice(
  module: Type<unknown>,
  options: JetStreamServerOptions,
  nest: { logger?: false | ('log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal')[] } = {},
): Promise<{ app: INestMicroservice; server: JetStreamServer }> {
  const server = new JetStreamServer(options);
  const app = await NestFactory.createMicroservice(module, { strategy: server, ...(nest.logger !== undefined ? { logger: nest.logger } : {}) });
  app.useGlobalFilters(new JetStreamExceptionFilter());
  return { app, server };
}
