import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { EngineLink, EngineLinkStatus } from './engine-link';

/** The engine hosted in the api process: attached from bootstrap until shutdown begins. */
@Injectable()
export class InProcessEngineLink extends EngineLink implements OnApplicationBootstrap, OnApplicationShutdown {
  private attached = false;

  onApplicationBootstrap(): void {
    this.attached = true;
  }

  onApplicationShutdown(): void {
    this.attached = false;
  }

  async status(): Promise<EngineLinkStatus> {
    return { attached: this.attached, mode: 'in-process' };
  }
}
